# users_from_primary (issue 9 item 3): Causeway loads the mysql_native_password accounts from
# the primary with the monitor login (GRANT SELECT ON mysql.global_priv) and logs clients in
# with them, picking the account the server would pick. Accounts created, dropped, locked or
# given a new password on the primary take effect after users_refresh_s without a restart, or
# at once on SIGHUP; a login the loaded accounts refuse asks for a load first, so a user created
# a moment ago logs in at its first try. Each refusal is answered as the server itself answers it (the same
# client, run against the primary directly, prints the same error). [users] wins over the
# loaded accounts. Until the first load succeeds, loaded users get a temporary ERR 9001.
# Reads and writes of a loaded user work on the primary and the replicas (they accept the
# credential derived from the client's token). The hashes never reach the log, causewayctl
# or /metrics.
use strict;
use warnings;
use Test::More;
use HTTP::Tiny;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use Causeway::Test;
use Causeway::Util qw(wait_until free_port slurp spit);

my $t = Causeway::Test->new;
$t->need_proxy('users_from_primary is causewayd\'s');
my $topo = $t->topology;
my $p = $topo->primary;

# Accounts on the primary (they replicate: the replicas accept the same logins).
$p->sql($_) for (
    "GRANT SELECT ON mysql.global_priv TO 'monitor'\@'%'",
    "CREATE USER 'loaded'\@'%' IDENTIFIED BY 'lpw'",
    "GRANT ALL PRIVILEGES ON test.* TO 'loaded'\@'%'",
    "CREATE USER 'far'\@'10.%' IDENTIFIED BY 'fpw'",
    "CREATE USER 'near'\@'127.0.0.%' IDENTIFIED BY 'npw'",
    "GRANT SELECT ON test.* TO 'near'\@'127.0.0.%'",
    "CREATE USER 'lockme'\@'%' IDENTIFIED BY 'kpw'",
    "CREATE USER 'shadow'\@'%' IDENTIFIED BY 'srvpw'",
    # A monitor without the grant: its Causeway never loads the accounts.
    "CREATE USER 'monitor2'\@'%' IDENTIFIED BY 'm2pw'",
    "GRANT BINLOG MONITOR, SLAVE MONITOR, REPLICATION CLIENT, PROCESS ON *.* TO 'monitor2'\@'%'",
);
$topo->wait_for_replicas;
my %hash;
$hash{$_} = $p->value("SELECT PASSWORD(?)", $_) for qw(lpw fpw npw kpw srvpw newpw hpw);

my $admin_port = free_port();
my $cw = $t->causeway(config => {
    causeway => { mode => 'smartscale', users_from_primary => 'on', users_refresh_s => 2, log_level => 'debug',
                  admin_listen => "127.0.0.1:$admin_port", admin_tls => 'off',
                  # Many refusals from 127.0.0.1 follow: not slowed here (t/52 tests the delay).
                  auth_failures_before_delay => 1000 },
    # [users] wins: shadow logs in with this password, not the primary's.
    users => { app => undef, app2 => undef, shadow => 'inipw' },
});
ok(wait_until(sub { $cw->log_text =~ /users_from_primary: \d+ accounts loaded/ }, timeout => 15),
   'the poller loads the accounts from the primary') or diag($cw->log_tail(30));

# The same login through Causeway and straight to the primary: the error lines must match.
sub login {
    my (%o) = @_;
    my $r = $t->mariadb(['-N', '-e', 'SELECT CURRENT_USER()'], db => undef, %o);
    return $r->{exit} == 0 ? "ok $r->{out}" : ($r->{err} =~ /(ERROR \d+ \(\w+\).*)/ ? $1 : "failed: $r->{err}");
}
sub both {
    my (%o) = @_;
    return (login(%o), login(%o, port => $p->port));
}

my ($via, $direct) = both(user => 'loaded', password => 'lpw');
like($via, qr/^ok loaded\@%$/m, 'mariadb CLI: a loaded account logs in (CURRENT_USER loaded@%)');
# An unknown user, and one whose accounts admit no host of the client's: 1045 with the
# server's text. (The server itself answers some such names 1698: it fakes an account for
# them, chosen by a hash of the name, and fails in that account's plugin.)
for my $case (['nobody', 'x', 'an unknown user'], ['far', 'fpw', "an account for '10.%' only, from 127.0.0.1"],
              ['shadow', 'srvpw', 'the primary\'s password of a user [users] names']) {
    my ($user, $pw, $what) = @$case;
    is(login(user => $user, password => $pw),
       "ERROR 1045 (28000): Access denied for user '$user'\@'127.0.0.1' (using password: YES)", "$what is refused");
}
my ($v, $d) = both(user => 'loaded', password => 'wrong');
like($v, qr/^ERROR 1045 \(28000\): /, 'a wrong password is refused at login');
is($v, $d, 'a wrong password: the same error as the server\'s');
like(login(user => 'near', password => 'npw'), qr/^ok near\@127\.0\.0\.%$/m, "an account for '127.0.0.%' logs in");
like(login(user => 'shadow', password => 'inipw'), qr/^ERROR/,
     '[users] decides for shadow (its password there is not the servers\', so the backend refuses it)');

# DBD::MariaDB: writes on the primary, reads on a replica, with the derived credential.
my $dbh = $t->connect(user => 'loaded', password => 'lpw');
ok($dbh, 'DBD::MariaDB logs in as the loaded account') or diag($DBI::errstr);
if ($dbh) {
    ok($dbh->do('CREATE TABLE IF NOT EXISTS test.uf (id INT PRIMARY KEY, v INT)') &&
       $dbh->do('REPLACE INTO test.uf VALUES (1, 42)'), 'a write runs on the primary') or diag($dbh->errstr);
    my ($v) = $dbh->selectrow_array('SELECT v FROM test.uf WHERE id = 1');
    is($v, 42, 'the read after it sees it');
    # A plain read goes to a replica once one has the write: Causeway logs in there as
    # loaded with the credential it derived from the client's token.
    ok(wait_until(sub { $dbh->selectrow_array('SELECT v FROM test.uf WHERE id = 1');
                        $cw->log_text =~ /loaded\@\S+ #\d+: backend 'r\d' \(\S+\) ready/ }, timeout => 10),
       'a read runs on a replica, logged in there as loaded');
    ok(!grep({ /loaded\@\S+.*(?:backend|server).*(?:refused|denied|failed)/i } split /\n/, $cw->log_text),
       'no backend refused the derived credential');
}

# CREATE USER on the primary: usable after the refresh, without a restart.
like(login(user => 'newbie', password => 'npw2'), qr/^ERROR 1045 \(28000\): /, 'newbie does not exist yet');
$p->sql("CREATE USER 'newbie'\@'%' IDENTIFIED BY 'npw2'");
my $t0 = time;
ok(wait_until(sub { login(user => 'newbie', password => 'npw2') =~ /^ok newbie/ }, timeout => 10),
   'CREATE USER on the primary: the account logs in through Causeway after the refresh');
note(sprintf('newbie usable %.1f s after CREATE USER (users_refresh_s = 2)', time - $t0));

# ALTER USER ... ACCOUNT LOCK: refused as the server refuses it.
$p->sql("ALTER USER 'lockme'\@'%' ACCOUNT LOCK");
ok(wait_until(sub { login(user => 'lockme', password => 'kpw') =~ /^ERROR 4151 \(HY000\): / }, timeout => 10),
   'a locked account is refused after the refresh');
($via, $direct) = both(user => 'lockme', password => 'kpw');
is($via, $direct, 'with the server\'s own error') or diag("$via / $direct");
like($via, qr/^ERROR 4151 \(HY000\): Access denied, this account is locked$/, '(4151 Access denied, this account is locked)');
($via, $direct) = both(user => 'lockme', password => 'bad');
is($via, $direct, 'a locked account with a wrong password: 1045, as the server');

# A new password: the new one works after the refresh, the old one not.
$p->sql("SET PASSWORD FOR 'loaded'\@'%' = PASSWORD('newpw')");
ok(wait_until(sub { login(user => 'loaded', password => 'newpw') =~ /^ok loaded/ }, timeout => 10),
   'SET PASSWORD on the primary: the new password works after the refresh');
like(login(user => 'loaded', password => 'lpw'), qr/^ERROR 1045 \(28000\): /, 'the old one is refused');

# COM_CHANGE_USER (PHP mysqli) goes through the same lookup.
my $php = <<'PHP';
mysqli_report(MYSQLI_REPORT_OFF);
$port = (int)$argv[1];
function check($name, $ok, $detail = '') { echo ($ok ? "ok $name" : "not ok $name: $detail"), "\n"; }
$m = new mysqli('127.0.0.1', 'near', 'npw', 'test', $port);
check('connect_near', !$m->connect_errno, $m->connect_error);
$ok = $m->change_user('loaded', 'newpw', 'test');
$r = $m->query('SELECT CURRENT_USER()')->fetch_row();
check('change_user_loaded', $ok && $r[0] === 'loaded@%', json_encode([$ok, $m->errno, $r]));
$ok = $m->change_user('lockme', 'kpw', 'test');
check('change_user_locked', !$ok && $m->errno == 4151, json_encode([$ok, $m->errno, $m->error]));
$m = new mysqli('127.0.0.1', 'near', 'npw', 'test', $port);
$ok = $m->change_user('loaded', 'lpw', 'test');
check('change_user_old_password', !$ok && $m->errno == 1045, json_encode([$ok, $m->errno, $m->error]));
PHP
$t->script_checks('PHP mysqli change_user', ['php', '-r', $php, '--', $cw->port],
                  [qw(connect_near change_user_loaded change_user_locked change_user_old_password)]);

# DROP USER: refused after the refresh.
$p->sql("DROP USER 'newbie'\@'%'");
ok(wait_until(sub { login(user => 'newbie', password => 'npw2') =~ /^ERROR 1045 \(28000\): / }, timeout => 10),
   'DROP USER on the primary: refused after the refresh');

# Failures are counted and slowed like any failed login.
my $c = $t->ctl_counters($cw);
ok(($c->{auth_failures} // 0) >= 8, "refusals counted as auth failures ($c->{auth_failures})");

# SIGHUP: with users_refresh_s = 3600, an account created after the reload is not seen...
my $cnf = slurp($cw->cnf);
$cnf =~ s/users_refresh_s = 2/users_refresh_s = 3600/ or die "no users_refresh_s in the config\n";
spit($cw->cnf, $cnf);
kill 'HUP', $cw->pid;
ok(wait_until(sub { $cw->log_text =~ /generation 2 is accepting/ }, timeout => 20), 'reload to users_refresh_s = 3600');
sleep 1;
# A login the loaded accounts refuse asks for a load at once (what mysql-test-run's tests and
# provisioning scripts do: CREATE USER, then log in as it): no wait for users_refresh_s.
my $forced = sub { my $x = HTTP::Tiny->new(timeout => 10)->get("http://127.0.0.1:$admin_port/metrics");
                   ($x->{content} // '') =~ /^causeway_users_forced_refresh_total (\d+)$/m ? $1 : undef };
my $forced0 = $forced->();
ok(defined $forced0, 'causeway_users_forced_refresh_total is exported');
$p->sql("CREATE USER 'hup'\@'%' IDENTIFIED BY 'hpw'");
$p->sql("GRANT SELECT ON test.* TO 'hup'\@'%'");
$t0 = time;
like(login(user => 'hup', password => 'hpw'), qr/^ok hup\@%$/m,
     'users_refresh_s = 3600: an account created a moment ago logs in at its first try');
my $took = time - $t0;
ok($took < 1.5, sprintf('answered in %.2f s', $took));
ok($forced->() > $forced0, 'the load it asked for is counted');
$p->sql("SET PASSWORD FOR 'hup'\@'%' = PASSWORD('hpw2')");
like(login(user => 'hup', password => 'hpw2'), qr/^ok hup/m, 'a password changed a moment ago works at once');
$p->sql("ALTER USER 'lockme'\@'%' ACCOUNT UNLOCK");
like(login(user => 'lockme', password => 'kpw'), qr/^ok lockme/m, 'an account unlocked a moment ago logs in at once');
$p->sql("CREATE USER 'hup2'\@'%' IDENTIFIED BY 'h2pw'");
my $php2 = <<'PHP';
mysqli_report(MYSQLI_REPORT_OFF);
$m = new mysqli('127.0.0.1', 'near', 'npw', 'test', (int)$argv[1]);
$ok = $m->change_user('hup2', 'h2pw', '');
$r = $ok ? $m->query('SELECT CURRENT_USER()')->fetch_row() : [$m->errno, $m->error];
echo ($ok && $r[0] === 'hup2@%' ? 'ok' : 'not ok'), ' change_user_new: ', json_encode($r), "\n";
PHP
$t->script_checks('PHP mysqli change_user to a user created a moment ago', ['php', '-r', $php2, '--', $cw->port],
                  ['change_user_new']);

# Refusals still get the server's answer, each after one load at most, and a stream of them
# reads the accounts at most five times a second.
$forced0 = $forced->();
$t0 = time;
my @slow;
for my $i (1 .. 8) {
    my $t1 = time;
    my $r = login(user => "nosuch$i", password => 'x');
    push @slow, sprintf('%s (%.2f s)', $r, time - $t1)
        unless $r eq "ERROR 1045 (28000): Access denied for user 'nosuch$i'\@'127.0.0.1' (using password: YES)"
        && time - $t1 < 2.5;
}
is("@slow", '', 'unknown users: 1045 with the server\'s text, each within the 2 s wait');
my $loads = $forced->() - $forced0;
ok($loads <= 2 + (time - $t0) / 0.2, sprintf('%d early loads for 8 refusals in %.1f s', $loads, time - $t0));

# A dropped account is refused at once too, at login as by the server: a loaded account's login
# waits for the primary's own (the next load drops it from the set). With
# users_refresh_s = 3600 only refusals and SIGHUP load the accounts: a SIGHUP loads them at once.
$p->sql("DROP USER 'hup'\@'%'");
my $dropped = login(user => 'hup', password => 'hpw2');
is($dropped, "ERROR 1045 (28000): Access denied for user 'hup'\@'127.0.0.1' (using password: YES)",
   'DROP USER: refused at once, at login');
my $loads_ok = sub { my $x = HTTP::Tiny->new(timeout => 10)->get("http://127.0.0.1:$admin_port/metrics");
                     ($x->{content} // '') =~ /^causeway_users_refresh_total\{result="ok"\} (\d+)$/m ? $1 : 0 };
my $ok0 = $loads_ok->();
$t0 = time;
kill 'HUP', $cw->pid;
ok(wait_until(sub { $loads_ok->() > $ok0 }, timeout => 15), 'SIGHUP loads the accounts at once');
note(sprintf('loaded %.1f s after SIGHUP', time - $t0));

# Failed logins of loaded accounts are slowed like any other: with auth_failures_before_delay
# = 3, the many failures above from 127.0.0.1 make the next answer wait auth_failure_delay_ms.
$cnf = slurp($cw->cnf);
$cnf =~ s/auth_failures_before_delay = 1000/auth_failures_before_delay = 3/ or die "no auth_failures_before_delay\n";
spit($cw->cnf, $cnf);
kill 'HUP', $cw->pid;
ok(wait_until(sub { $cw->log_text =~ /generation 4 is accepting/ }, timeout => 20), 'reload to auth_failures_before_delay = 3');
my $delays = $t->ctl_counters($cw)->{auth_delays} // 0;
$t0 = time;
like(login(user => 'loaded', password => 'wrong'), qr/^ERROR 1045 \(28000\): /, 'a wrong password of a loaded account');
$took = time - $t0;
ok($took >= 0.9, sprintf('is answered after the failed-login delay (%.2f s)', $took));
ok(($t->ctl_counters($cw)->{auth_delays} // 0) > $delays, 'and counted in auth_delays');

# Status and metrics; no hash anywhere.
my $st = $t->run([$t->root . '/bin/causewayctl', '-c', $cw->cnf, 'status'], timeout => 20);
like($st->{out}, qr/^accounts\s+\d+ of 1,?024 loaded, last refresh .* ok,/m, 'causewayctl status shows the accounts')
    or diag($st->{out});
my $m = HTTP::Tiny->new(timeout => 10)->get("http://127.0.0.1:$admin_port/metrics");
ok($m->{success}, 'GET /metrics');
my ($loaded) = $m->{content} =~ /^causeway_users_loaded (\d+)$/m;
my $server_count = $p->value("SELECT COUNT(*) FROM mysql.global_priv WHERE JSON_VALUE(Priv, '\$.is_role') IS NULL");
is($loaded, $server_count, "causeway_users_loaded is the primary's number of accounts ($server_count)");
like($m->{content}, qr/^causeway_users_refresh_total\{result="ok"\} [1-9]\d*$/m, 'refreshes counted');
like($m->{content}, qr/^causeway_users_last_refresh_ok 1$/m, 'the last refresh succeeded');
my $json = $t->run([$t->root . '/bin/causewayctl', '-c', $cw->cnf, '--json', 'status'], timeout => 20);
for my $pw (sort keys %hash) {
    my $h = $hash{$pw};
    my @where = grep { index($_->[1], $h) >= 0 || index($_->[1], substr($h, 1)) >= 0 }
        (['log', $cw->log_text], ['causewayctl status', $st->{out}], ['causewayctl --json status', $json->{out}],
         ['/metrics', $m->{content}]);
    is(join(', ', map { $_->[0] } @where), '', "the hash of '$pw' is in no log, causewayctl output or /metrics");
}

# A monitor that may not read mysql.global_priv: no accounts, a temporary error for them,
# [users] still works, the failures counted.
my $admin2 = free_port();
my $cw2 = $t->causeway(config => {
    causeway => { mode => 'smartscale', users_from_primary => 'on', users_refresh_s => 2,
                  admin_listen => "127.0.0.1:$admin2", admin_tls => 'off' },
    monitor => { user => 'monitor2', password => 'm2pw' },
    users => { app => 'secret', app2 => undef },
});
ok(wait_until(sub { $cw2->log_text =~ /loading the accounts failed: 1142/ }, timeout => 15),
   'without SELECT on mysql.global_priv the load fails, with the grant it needs in the log')
    or diag($cw2->log_tail(20));
my $r = $t->mariadb(['-N', '-e', 'SELECT 1'], port => $cw2->port, user => 'loaded', password => 'newpw', db => undef);
like($r->{err}, qr/ERROR 9001 \(08004\).*has not loaded the accounts from the primary yet/,
     'until a load succeeds, a loaded user gets a temporary error, not 1045');
$r = $t->mariadb(['-N', '-e', 'SELECT 5'], port => $cw2->port, db => undef);
like($r->{out}, qr/^5$/m, 'a user in [users] logs in meanwhile');
$m = HTTP::Tiny->new(timeout => 10)->get("http://127.0.0.1:$admin2/metrics");
like($m->{content}, qr/^causeway_users_refresh_total\{result="failed"\} [1-9]\d*$/m, 'failed refreshes counted');
like($m->{content}, qr/^causeway_users_last_refresh_ok 0$/m, 'and the last one shown failed');
like($m->{content}, qr/^causeway_client_refusals_total\{reason="accounts_not_loaded"\} [1-9]/m,
     'the refusal counted as accounts_not_loaded');

# causewayd -t accepts an empty [users] with users_from_primary and still warns about clear ones.
my $empty = $t->dir . '/empty-users.ini';
my $text = slurp($cw2->cnf);
$text =~ s/^app = secret\n//m;
spit($empty, $text);
$r = $t->run([$t->root . '/bin/causewayd', '-t', '-c', $empty]);
is($r->{exit}, 0, 'causewayd -t: an empty [users] is fine with users_from_primary') or diag($r->{err});
$r = $t->run([$t->root . '/bin/causewayd', '-t', '-c', $cw2->cnf]);
like($r->{err}, qr/warning: clear-text passwords for: app;/, 'and it warns about a clear password in [users]');

$t->done;
