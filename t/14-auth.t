# Client authentication through the proxy: bad passwords and unknown users get the server's
# ERR 1045 (SQLSTATE 28000, same wording) and a closed connection; clients that start with
# another auth plugin are switched to mysql_native_password; connect attributes,
# CLIENT_CONNECT_WITH_DB, the client's character set and pre-4.1-style auth lengths work.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;
use Causeway::Wire qw(CLIENT_CONNECT_WITH_DB CLIENT_CONNECT_ATTRS);

my $t = Causeway::Test->new;
my $topo = $t->topology;
# This test fails logins on purpose: with the failed-login throttle (t/52) every
# later login from 127.0.0.1 would wait auth_failure_delay_ms.
my $cw = $t->causeway(config => { causeway => { auth_failures_before_delay => 1000000 } });
my $port = $cw->port;
my $pport = $topo->primary->port;

sub wire { return Causeway::Wire->new(port => $_[0] // $port, timeout => 10) }

sub show {    # a login result as one string: 'ok', or 'err CODE (STATE) message'
    my ($r) = @_;
    return $r->{type} eq 'err' ? "err $r->{code} ($r->{state}) $r->{message}" : $r->{type};
}

sub one_value {
    my ($w, $sql) = @_;
    my ($r) = $w->query($sql);
    return $r->{type} eq 'rows' ? $r->{rows}[0][0] : "($r->{type}: " . ($r->{message} // '') . ')';
}

# Refused logins: the exact ERR, then the connection is closed.
my @refused = (
    ['wrong password', 'app', 'wrong', "Access denied for user 'app'\@'127.0.0.1' (using password: YES)"],
    ['unknown user', 'nosuchuser', 'secret', "Access denied for user 'nosuchuser'\@'127.0.0.1' (using password: YES)"],
    ['empty password', 'app', '', "Access denied for user 'app'\@'127.0.0.1' (using password: NO)"],
    ['another user\'s password', 'app2', 'secret', "Access denied for user 'app2'\@'127.0.0.1' (using password: YES)"],
);
for my $c (@refused) {
    my ($what, $user, $pw, $msg) = @$c;
    my $w = wire();
    ok($w->handshake->{protocol} == 10, "$what: the proxy greets with protocol 10");
    my $r = $w->login(user => $user, password => $pw, db => 'test');
    is($r->{type}, 'err', "$what: login is refused with an ERR packet");
    is($r->{code}, 1045, "$what: ERR 1045");
    is($r->{state}, '28000', "$what: SQLSTATE 28000");
    is($r->{message}, $msg, "$what: the server's wording");
    ok($w->closed_within(5), "$what: the connection is closed after the ERR");
    my $d = wire($pport);
    my $dr = $d->login(user => $user, password => $pw, db => 'test');
    is("$r->{code} $r->{state} $r->{message}", "$dr->{code} $dr->{state} $dr->{message}",
       "$what: same ERR as straight from the primary");
}

# The same through a real driver.
my $dbh = $t->connect(password => 'wrong');
ok(!$dbh, 'DBD::MariaDB: a wrong password fails');
is($DBI::err, 1045, 'DBD::MariaDB: ERR 1045');
is($DBI::state, '28000', 'DBD::MariaDB: SQLSTATE 28000');
is($DBI::errstr, "Access denied for user 'app'\@'127.0.0.1' (using password: YES)",
   'DBD::MariaDB: the server\'s wording');
my $r = $t->mariadb(['-e', 'select 1'], password => 'wrong');
like($r->{err}, qr/^ERROR 1045 \(28000\): Access denied for user 'app'\@'127.0.0.1' \(using password: YES\)$/m,
     'mariadb CLI: ERROR 1045 (28000) with the server\'s wording');

# Good logins.
for my $u (['app', 'secret'], ['app2', 'secret2']) {
    my $w = wire();
    my $res = $w->login(user => $u->[0], password => $u->[1], db => 'test');
    is(show($res), 'ok', "$u->[0] logs in");
    is(one_value($w, 'SELECT CURRENT_USER()'), "$u->[0]\@%", "$u->[0] is $u->[0]\@% on the server");
}
ok(wire()->login(user => 'app', password => 'wrong')->{type} eq 'err'
   && wire()->login(user => 'app', password => 'secret')->{type} eq 'ok',
   'a good login right after a failed one works');

# Auth switch: the client starts with another plugin.
{
    my $w = wire();
    my $res = $w->login(user => 'app', password => 'secret', db => 'test',
                        plugin => 'caching_sha2_password', auth_data => 'x' x 32);
    is(show($res), 'ok', 'a client starting with caching_sha2_password logs in');
    is($w->{auth_switch}, 'mysql_native_password', '... after an auth switch to mysql_native_password');
    is(one_value($w, 'SELECT 1 + 1'), 2, '... and can query');

    $w = wire();
    $res = $w->login(user => 'app', password => 'wrong', plugin => 'client_ed25519', auth_data => 'y' x 64);
    is($res->{type} . ' ' . ($res->{code} // ''), 'err 1045',
       'a wrong password after an auth switch gets ERR 1045');
    ok($w->closed_within(5), '... and the connection is closed');
}
for my $plugin ('client_ed25519', 'caching_sha2_password', 'mysql_clear_password') {
    my @opt = ("--default-auth=$plugin");
    push @opt, '--enable-cleartext-plugin' if $plugin eq 'mysql_clear_password';
    my $via = $t->mariadb([@opt, '-N', '-B', '-e', 'select current_user()']);
    my $direct = $t->mariadb([@opt, '-N', '-B', '-e', 'select current_user()'], port => $pport);
    is($via->{out}, $direct->{out}, "mariadb CLI --default-auth=$plugin: same outcome as straight to the primary");
    is($via->{err}, $direct->{err}, "mariadb CLI --default-auth=$plugin: same errors as straight to the primary");
    is($via->{out}, "app\@%\n", "mariadb CLI --default-auth=$plugin logs in") if $plugin ne 'mysql_clear_password';
}

# A client without CLIENT_PLUGIN_AUTH (auth response with a 1-byte length, no plugin name).
{
    my $w = wire();
    my $res = $w->login(user => 'app', password => 'secret', db => 'test',
                        caps_remove => 0x00080000 | 0x00200000);
    is(show($res), 'ok', 'a client without CLIENT_PLUGIN_AUTH logs in');
    is(one_value($w, 'SELECT DATABASE()'), 'test', '... into its database');
}

# CLIENT_CONNECT_WITH_DB and connect attributes.
{
    my %attrs = (_client_name => 'causeway-wire', _client_version => '1.0', program_name => '14-auth',
                 map { ("attr$_" => 'v' x (10 * $_)) } 1 .. 20);
    my $w = wire();
    my $res = $w->login(user => 'app', password => 'secret', db => 'test', attrs => \%attrs);
    is(show($res), 'ok', 'login with CLIENT_CONNECT_WITH_DB and 23 connect attributes (~2 KB)');
    ok($w->{caps} & CLIENT_CONNECT_ATTRS, '... the client did send CLIENT_CONNECT_ATTRS');
    is(one_value($w, 'SELECT DATABASE()'), 'test', '... the default database is set');

    $w = wire();
    $res = $w->login(user => 'app', password => 'secret', attrs => \%attrs);
    is(show($res), 'ok', 'login without a database');
    ok(!($w->{caps} & CLIENT_CONNECT_WITH_DB), '... the client did not send CLIENT_CONNECT_WITH_DB');
    is(one_value($w, 'SELECT DATABASE()'), undef, '... no default database');

    $w = wire();
    $res = $w->login(user => 'app', password => 'secret', db => 'mysql');
    is(one_value($w, 'SELECT DATABASE()'), 'mysql', 'CLIENT_CONNECT_WITH_DB with another database');

    $w = wire();
    $res = $w->login(user => 'app', password => 'secret', db => 'nosuchdb');
    is("$res->{type} " . ($res->{code} // '') . ' ' . ($res->{state} // ''), 'err 1049 42000',
       'an unknown database at login gets ERR 1049 (42000)');
    is($res->{message}, "Unknown database 'nosuchdb'", '... with the server\'s wording');
    ok($w->closed_within(5), '... and the connection is closed');
}

# The client's character set reaches the server.
for my $cs ([8, 'latin1'], [45, 'utf8mb4'], [63, 'binary']) {
    my $w = wire();
    $w->login(user => 'app', password => 'secret', db => 'test', charset => $cs->[0]);
    is(one_value($w, 'SELECT @@character_set_client'), $cs->[1],
       "handshake charset $cs->[0] gives character_set_client $cs->[1]");
}

# Many logins in a row (no leak of half-open state).
my $ok = 0;
for my $i (1 .. 50) {
    my $w = wire();
    my $res = $w->login(user => $i % 2 ? 'app' : 'app2', password => $i % 2 ? 'secret' : 'secret2');
    $ok++ if $res->{type} eq 'ok' && (one_value($w, "SELECT $i") // "") eq "$i";
    $w->close;
}
is($ok, 50, '50 logins in a row all work');

$t->done;
