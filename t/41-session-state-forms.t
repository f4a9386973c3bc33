# Session state set by forms other than a plain SET query reaches replica reads (issue 7
# items 1 and 2), checked per read against the server that answered (marker table):
#  - Connector/J's connect-time `set autocommit=1, sql_mode = concat(@@sql_mode, ...)`: reads
#    still go to replicas, with that sql_mode; `SET autocommit=0, time_zone=...` then
#    `SET autocommit=1` likewise;
#  - SET time_zone / SET NAMES / SET @x as server-side prepared statements (DBD::MariaDB
#    with mariadb_server_prepare, PHP PDO with ATTR_EMULATE_PREPARES = false);
#  - SQL PREPARE / EXECUTE ... USING, and a stored procedure, that set time_zone: the values
#    the server reports (session tracking) are carried to replicas;
#  - a prepared SET with parameters: answered right, wherever it runs.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;
use Causeway::Util qw(wait_until spit);

my $t = Causeway::Test->new;
$t->need_proxy('read/write splitting');
my $topo = $t->topology;
my $primary = $topo->primary;
my %is_replica = map { $_->name => 1 } $topo->replicas;

$primary->sql($_) for (
    'CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)',
    'INSERT INTO test.t SELECT seq, seq * 10 FROM test.seq_1_to_10',
    "CREATE PROCEDURE test.set_zone(z VARCHAR(10)) BEGIN SET time_zone = z; END",
);
$topo->add_markers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');
my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', session_id => 'CONNECTION' } });

my $dbh = $t->connect(attr => { mariadb_server_prepare => 1 });
ok($dbh, 'DBD::MariaDB (server-side prepares) connects') or BAIL_OUT("no connection: $DBI::errstr");

# Runs a read 6 times (on $o{dbh}, default the prepared-statement one); every row must pass
# $check; with $on_replica, at least 4 come from replicas.
sub reads {
    my ($label, $sql, $check, %o) = @_;
    my $h = $o{dbh} // $dbh;
    my (@bad, %by);
    for my $k (1 .. 6) {
        my $row = $h->selectrow_arrayref($sql);
        if (!$row) { push @bad, "#$k: ERR $DBI::err $DBI::errstr"; next }
        $by{ $row->[0] }++;
        my $why = $check->($row);
        push @bad, "#$k (answered by $row->[0]): $why" if $why;
    }
    is(join("\n", @bad), '', "$label: every read shows the session's state");
    my $on = 0;
    $on += $by{$_} for grep { $is_replica{$_} } keys %by;
    note("$label: answered by " . join(', ', map { "$_ $by{$_}" } sort keys %by));
    cmp_ok($on, '>=', 4, "$label: reads are answered by replicas ($on of 6)") if $o{on_replica};
}
sub zone_is {
    my ($zone, $minutes) = @_;
    return sub {
        my ($row) = @_;
        return $row->[1] eq $zone && $row->[2] == $minutes ? '' : "time_zone $row->[1], offset $row->[2]";
    };
}
my $zone_sql = 'SELECT name, @@time_zone, TIMESTAMPDIFF(MINUTE, UTC_TIMESTAMP(), NOW()) FROM marker';

ok(wait_until(sub { my $r = $dbh->selectrow_arrayref('SELECT name FROM marker'); $r && $is_replica{ $r->[0] } },
              timeout => 10, interval => 0.05), 'a plain read is answered by a replica');

# Connector/J 2.7 sends this on every connect (text protocol).
my $txt = $t->connect;
ok($txt && $txt->do("SET sql_mode = 'NO_ENGINE_SUBSTITUTION'"), 'text protocol: SET sql_mode = NO_ENGINE_SUBSTITUTION');
ok($txt->do("set autocommit=1, sql_mode = concat(\@\@sql_mode,',STRICT_TRANS_TABLES')"),
   "Connector/J's connect-time SET autocommit=1, sql_mode=concat(...)");
reads('after SET autocommit=1, sql_mode', 'SELECT name, @@sql_mode FROM marker',
      sub { $_[0][1] eq 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION' ? '' : "sql_mode $_[0][1]" },
      on_replica => 1, dbh => $txt);
ok($txt->do("SET autocommit = 0, time_zone = '+03:00'"), "SET autocommit = 0, time_zone = '+03:00'");
ok($txt->do('SET autocommit = 1'), 'SET autocommit = 1');
reads('after SET autocommit=0, time_zone then autocommit=1', $zone_sql, zone_is('+03:00', 180),
      on_replica => 1, dbh => $txt);
$txt->disconnect;

# Server-side prepared SETs (DBD::MariaDB prepares every statement here).
ok($dbh->do("SET time_zone = '+05:30'"), "SET time_zone = '+05:30' (prepared)");
reads('after a prepared SET time_zone', $zone_sql, zone_is('+05:30', 330), on_replica => 1);
ok($dbh->do('SET NAMES latin1'), 'SET NAMES latin1 (prepared)');
reads('after a prepared SET NAMES latin1', 'SELECT name, @@character_set_client, @@character_set_results FROM marker',
      sub { "$_[0][1] $_[0][2]" eq 'latin1 latin1' ? '' : "charsets $_[0][1] $_[0][2]" }, on_replica => 1);
ok($dbh->do('SET NAMES utf8mb4'), 'SET NAMES utf8mb4 (prepared)');
ok($dbh->do('SET @x = 5'), 'SET @x = 5 (prepared)');
is($dbh->selectrow_array('SELECT v FROM t WHERE id = @x'), 50, 'a read of @x sees it');

# SQL-level PREPARE / EXECUTE, and a procedure: learnt from the server's session tracking.
ok($dbh->do(q{PREPARE z FROM 'SET time_zone = ?'}) && $dbh->do(q{EXECUTE z USING '-02:00'}),
   "PREPARE z FROM 'SET time_zone = ?'; EXECUTE z USING '-02:00'");
reads('after SQL EXECUTE of SET time_zone', $zone_sql, zone_is('-02:00', -120), on_replica => 1);
ok($dbh->do(q{CALL set_zone('+01:00')}), "CALL set_zone('+01:00')");
reads('after a procedure that sets time_zone', $zone_sql, zone_is('+01:00', 60), on_replica => 1);

# With parameters the SET's text cannot be replayed: right answers, wherever they run.
ok($dbh->do('SET time_zone = ?', undef, '+04:00'), "SET time_zone = ? ('+04:00', prepared with a parameter)");
reads('after a prepared SET time_zone = ?', $zone_sql, zone_is('+04:00', 240));
$dbh->disconnect;

# PHP PDO with native prepares: Laravel prepares its `set time_zone` like this.
my $php = <<'PHP';
<?php
$port = (int)$argv[1];
$replicas = explode(',', $argv[2]);
function check($name, $cond, $detail = '') { echo ($cond ? "ok $name" : "not ok $name: $detail"), "\n"; }
$pdo = new PDO("mysql:host=127.0.0.1;port=$port;dbname=test;charset=utf8mb4", 'app', 'secret',
               [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION, PDO::ATTR_EMULATE_PREPARES => false]);
$pdo->prepare("set time_zone='+06:00'")->execute();
$pdo->prepare('SET NAMES latin1')->execute();
$seen = []; $bad = [];
for ($i = 0; $i < 6; $i++) {
    $st = $pdo->prepare('SELECT name, @@time_zone, TIMESTAMPDIFF(MINUTE, UTC_TIMESTAMP(), NOW()), @@character_set_client FROM marker');
    $st->execute();
    $r = $st->fetch(PDO::FETCH_NUM);
    $seen[] = $r[0];
    if ($r[1] !== '+06:00' || (int)$r[2] !== 360 || $r[3] !== 'latin1') { $bad[] = json_encode($r); }
}
check('pdo_native_prepared_set', !$bad, implode(' ', $bad));
$on = count(array_filter($seen, function ($n) use ($replicas) { return in_array($n, $replicas, true); }));
check('pdo_native_reads_on_replicas', $on >= 4, implode(',', $seen));
PHP
my $php_file = $t->dir . '/pdo-set.php';
spit($php_file, $php);
$t->script_checks('PHP PDO native', [ 'php', $php_file, $cw->port, join(',', sort keys %is_replica) ],
                  [qw(pdo_native_prepared_set pdo_native_reads_on_replicas)]);

$t->done;
