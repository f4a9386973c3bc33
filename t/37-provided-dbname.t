# session_id = PROVIDED_IN_DBNAME (issue 4 item 10; DESIGN §2): the client passes
# `dbname?sessionId=X` as its database (at login, by COM_INIT_DB, by USE `...`, by the mariadb
# CLI's `use`); the proxy strips the suffix (SELECT DATABASE() and the servers' processlists
# show `test`), connections with the same id share their writes (1000 write-then-read round
# trips across two connections of two users, never stale), connections with different ids do
# not wait for each other, clients without a suffix use session_id_fallback, and a malformed
# suffix gets a clear error (one that names sessionId) while the connection stays usable.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;
use Causeway::Wire qw(COM_INIT_DB);

my $t = Causeway::Test->new;
$t->need_proxy('PROVIDED_IN_DBNAME');
sub give_up { my ($why) = @_; fail($why); $t->done; exit }
my $topo = $t->topology;
my $primary = $topo->primary;
my ($r1, $r2) = $topo->replicas;

$primary->sql($_) for (
    'CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)',
    'INSERT INTO test.t SELECT seq, 0 FROM test.seq_1_to_10',
    'CREATE DATABASE db2',
);
$_->sql('SET GLOBAL userstat = 1') for $topo->servers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');

my $cw = $t->causeway(config => { causeway => {
    mode => 'smartscale', session_id => 'PROVIDED_IN_DBNAME', session_id_fallback => 'CONNECTION',
    replica_selection => 'round_robin' } });
my %pw = (app => 'secret', app2 => 'secret2');

sub conn {
    my ($user, $db) = @_;
    return $t->connect(user => $user, password => $pw{$user}, db => $db);
}
sub q1 {
    my ($h, $sql) = @_;
    my $row = $h->selectrow_arrayref($sql);
    return $row ? $row->[0] // 'NULL' : 'ERR ' . ($h->err // '?') . ' ' . ($h->errstr // '');
}
sub rows_read {
    my ($user) = @_;
    return { map { ($_->name => $_->value('SELECT ROWS_READ FROM information_schema.USER_STATISTICS WHERE USER = ?',
                                          $user) // 0) } $topo->servers };
}

# ---- the suffix is stripped -------------------------------------------------------------------

my $ha = conn('app', 'test?sessionId=abc') or give_up("connect to 'test?sessionId=abc': $DBI::err $DBI::errstr");
pass("connecting to database 'test?sessionId=abc' works");
is(join(',', map { q1($ha, 'SELECT DATABASE()') } 1 .. 5), join(',', ('test') x 5),
   "SELECT DATABASE() says 'test' (5 reads)");
ok($ha->do('UPDATE t SET v = 1 WHERE id = 1'), 'a write in session abc') or diag($ha->errstr);
is(q1($ha, 'SELECT DATABASE()'), 'test', "SELECT DATABASE() right after a write says 'test'");
is(q1($ha, 'SELECT v FROM t WHERE id = 1'), '1', 'an unqualified table of test reads the write');

my $d2 = conn('app2', 'db2?sessionId=abc');
ok($d2, "connecting to 'db2?sessionId=abc' works") or diag("$DBI::err $DBI::errstr");
is($d2 ? q1($d2, 'SELECT DATABASE()') : 'no connection', 'db2', "... and SELECT DATABASE() says 'db2'");

ok($ha->do('USE `test?sessionId=xyz`'), 'USE `test?sessionId=xyz` (COM_QUERY) works') or diag($ha->errstr);
is(q1($ha, 'SELECT DATABASE()'), 'test', "... and SELECT DATABASE() says 'test'");

my $w = Causeway::Wire->new(port => $cw->port, timeout => 10);
my $l = $w->login(user => 'app', password => 'secret', db => 'test');
is($l->{type}, 'ok', 'raw client logs in to test (no suffix: the fallback session)');
$w->command(COM_INIT_DB, 'test?sessionId=w1');
my ($r) = $w->read_all(10);
is($r->{type}, 'ok', "COM_INIT_DB 'test?sessionId=w1' works") or diag(explain $r);
($r) = $w->query('SELECT DATABASE()');
is($r->{rows}[0][0] // $r->{message} // $r->{type}, 'test', "... and SELECT DATABASE() says 'test'");

my $cli = $t->mariadb(['-N', '-B', '-e', 'select database()'], db => 'test?sessionId=cli1');
is("$cli->{out}$cli->{err}", "test\n", "mariadb CLI with database 'test?sessionId=cli1': select database() says test");
$cli = $t->mariadb(['-N', '-B', '-e', 'use test?sessionId=cli2
select database()'], db => undef);
is("$cli->{out}$cli->{err}", "test\n", "mariadb CLI: 'use test?sessionId=cli2' then select database() says test");

# The servers never see a suffix (checked while the connections above are open).
my @seen = map { my $s = $_; map { $s->name . ": $_->[0] ($_->[1])" }
                 @{ $s->sql("SELECT DB, USER FROM information_schema.PROCESSLIST WHERE DB LIKE '%?%' OR DB LIKE '%sessionId%'") } }
           $topo->servers;
is(join(', ', @seen), '', 'no server has a connection whose database carries the ?sessionId suffix');

# ---- one id, two connections: B reads A's write right away --------------------------------------

sub shared_loop {
    my ($label, $ca, $cb, $n, $row) = @_;
    my ($done, $stale, $err, $first) = (0, 0, 0);
    my $upd = $ca->prepare('UPDATE t SET v = ? WHERE id = ?');
    my $sel = $cb->prepare('SELECT v FROM t WHERE id = ?');
    my $b0 = rows_read('app2');
    for my $i (1 .. $n) {
        my $v = 100000 * $row + $i;
        my $rows = $upd->execute($v, $row);
        unless ($rows && $rows == 1) { $err++; $first //= "UPDATE #$i: " . ($DBI::errstr // "affected $rows"); next }
        my $got = $sel->execute($row) ? ($sel->fetchrow_array)[0] : undef;
        $sel->finish;
        unless (defined $got) { $err++; $first //= "SELECT #$i: $DBI::errstr"; next }
        if ($got != $v) { $stale++; $first //= "#$i: A wrote $v, B read $got" }
        $done++;
    }
    my $b1 = rows_read('app2');
    is("$done done, $err errors, $stale stale", "$n done, 0 errors, 0 stale", $label) or diag($first);
    return { map { ($_ => $b1->{$_} - $b0->{$_}) } qw(r1 r2) };
}

my $sa = conn('app', 'test?sessionId=s1');
my $sb = conn('app2', 'test?sessionId=s1');
if (ok($sa && $sb, 'two connections (app, app2) with sessionId=s1')) {
    my $s = shared_loop('sessionId=s1: app writes, app2 reads right away, 1000 times: never stale', $sa, $sb, 1000, 2);
    note("sessionId=s1: app2's reads served by r1 $s->{r1}, r2 $s->{r2} of 1000");
    cmp_ok($s->{r1} + $s->{r2}, '>=', 250, 'sessionId=s1: at least a quarter of the reads are served by replicas');
}

my $sc = conn('app2', 'test');
if (ok($sc && $sc->do('USE `test?sessionId=s2`'), 'app2 connects to test, then USE `test?sessionId=s2`')) {
    my $sd = conn('app', 'test?sessionId=s2');
    shared_loop('sessionId=s2 given by USE: app writes, app2 reads right away, 300 times: never stale', $sd, $sc, 300, 3);
}

# ---- different ids do not wait for each other ----------------------------------------------------

$r1->stop_sql_thread;
my $other = conn('app2', 'test?sessionId=other');
if (ok($other, 'a connection with sessionId=other')) {
    my $b0 = rows_read('app2');
    my $upd = $sa->prepare('UPDATE t SET v = ? WHERE id = 4');
    my $errors = 0;
    for my $i (1 .. 200) {
        $upd->execute($i) or $errors++;
        q1($other, 'SELECT v FROM t WHERE id = 4') =~ /^ERR/ and $errors++;
    }
    my $b1 = rows_read('app2');
    is($errors, 0, "r1's SQL thread stopped: s1 writes, 'other' reads right after, 200 times, without error");
    note(sprintf("sessionId=other's reads right after s1's writes: r1 %d, r2 %d of 200", map { $b1->{$_} - $b0->{$_} } qw(r1 r2)));
    cmp_ok($b1->{r1} - $b0->{r1}, '>', 0, "sessionId=other is not held back by s1's writes: r1 (which has none "
           . 'of them) still serves some of its reads (round_robin)');
}
$r1->start_sql_thread;

# ---- no suffix: the fallback (CONNECTION) ----------------------------------------------------------

my $plain = conn('app', 'test');
if (ok($plain, 'connecting without a suffix works')) {
    shared_loop('no suffix (session_id_fallback = CONNECTION): write then read on one connection, 200 times',
                $plain, $plain, 200, 5);
}

# ---- malformed suffixes -----------------------------------------------------------------------------

for my $bad ('test?sessionId=', 'test?foo=1', 'test?sessionId') {
    my $h = conn('app', $bad);
    ok(!$h, "connecting to '$bad' is refused");
    like($DBI::errstr // '', qr/sessionId/i, "... with an error that names sessionId")
        or diag("got: " . ($DBI::err // 'no error') . ' ' . ($DBI::errstr // ''));
    note("'$bad': ERR " . ($DBI::err // '') . ' ' . ($DBI::errstr // ''));
}
{
    $w->command(COM_INIT_DB, 'test?foo=1');
    my ($e) = $w->read_all(10);
    is($e->{type}, 'err', "COM_INIT_DB 'test?foo=1' gets an ERR");
    like($e->{message} // '', qr/sessionId/i, '... that names sessionId') or diag(explain $e);
    ($r) = $w->query('SELECT 1');
    is($r->{rows}[0][0] // $r->{type}, '1', 'the connection still works after it');
    ok(!$ha->do('USE `test?sessionId=`'), 'USE `test?sessionId=` (COM_QUERY) fails');
    like($ha->errstr // '', qr/sessionId/i, '... with an error that names sessionId');
    is(q1($ha, 'SELECT 1'), '1', 'the connection still works after it');
}

$w->close;
$_->disconnect for grep { $_ } $ha, $d2, $sa, $sb, $sc, $other, $plain;
$t->log_is_clean($cw);
$t->done;
