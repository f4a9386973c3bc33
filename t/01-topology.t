# The harness itself: a primary and two GTID replicas come up, replicate, refuse misrouted
# writes from the application user (ERR 1290), and can be lagged, paused and restarted.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use Causeway::Test;

my $t = Causeway::Test->new;
my $t0 = time;
my $topo = $t->topology(replicas => 2);
my ($p, $r1, $r2) = $topo->servers;
cmp_ok(time - $t0, '<', 30, 'three servers start in under 30 s');

my %ids = map { $_->value('SELECT @@server_id') => 1 } $topo->servers;
is(scalar keys %ids, 3, 'server ids are distinct');
is($p->value('SELECT @@read_only'), 0, 'primary is writable');
is($p->value('SELECT @@log_bin'), 1, 'primary has the binlog on');
is($p->value('SELECT @@binlog_format'), 'ROW', 'primary binlog_format is ROW');
is($_->value('SELECT @@read_only'), 1, $_->name . ' is read_only') for $r1, $r2;
is($p->value('SELECT @@max_allowed_packet'), 64 * 1024 * 1024, 'max_allowed_packet is 64M');
is($p->value('SELECT @@bind_address'), '127.0.0.1', 'servers bind 127.0.0.1 only');

for my $r ($r1, $r2) {
    my $row = $r->dbh->selectrow_hashref('SHOW SLAVE STATUS');
    is($row->{Slave_IO_Running}, 'Yes', $r->name . ': IO thread running');
    is($row->{Slave_SQL_Running}, 'Yes', $r->name . ': SQL thread running');
    is($row->{Using_Gtid}, 'Slave_Pos', $r->name . ': replicates by GTID slave_pos');
    is($r->value("SELECT COUNT(*) FROM mysql.user WHERE user IN ('app','app2','monitor','repl')"),
       4, $r->name . ': users were replicated');
}

# Replication of data.
$p->sql('CREATE TABLE test.t1 (id INT PRIMARY KEY, v VARCHAR(20))');
$p->sql("INSERT INTO test.t1 VALUES (1, 'one'), (2, 'two')");
ok($topo->wait_for_replicas(10), 'replicas catch up after an insert');
is($_->value('SELECT GROUP_CONCAT(v ORDER BY id) FROM test.t1'), 'one,two',
   $_->name . ' has the replicated rows') for $r1, $r2;

# The application users: can write on the primary, not on a replica.
for my $u (['app', 'secret'], ['app2', 'secret2']) {
    my $dbh = $t->connect(port => $p->port, user => $u->[0], password => $u->[1]);
    ok($dbh, "$u->[0] logs in to the primary") or diag($DBI::errstr);
    ok($dbh && $dbh->do("INSERT INTO t1 VALUES (10 + LENGTH('$u->[0]'), '$u->[0]')"),
       "$u->[0] can write on the primary");
    my $rdbh = $t->connect(port => $r1->port, user => $u->[0], password => $u->[1]);
    ok($rdbh, "$u->[0] logs in to a replica") or diag($DBI::errstr);
    my $done = $rdbh && $rdbh->do("INSERT INTO t1 VALUES (99, 'misrouted')");
    ok(!$done, "$u->[0] cannot write on a replica");
    is($rdbh && $rdbh->err, 1290, "$u->[0]'s write on a replica fails with ERR 1290");
    like($rdbh && $rdbh->errstr // '', qr/read-only/, 'ERR 1290 names --read-only');
    is($rdbh && $rdbh->selectrow_array('SELECT COUNT(*) FROM t1 WHERE id <= 2'), 2,
       "$u->[0] can read on a replica");
}
my $mon = $t->connect(port => $r1->port, user => 'monitor', password => 'monitorpass', db => undef);
ok($mon, 'monitor logs in to a replica');
like($mon && $mon->selectrow_array('SELECT @@gtid_slave_pos') // '', qr/^0-1-\d+$/,
     'monitor reads @@gtid_slave_pos');
ok($mon && $mon->selectrow_hashref('SHOW SLAVE STATUS'), 'monitor may SHOW SLAVE STATUS');

# Lag injection: stop the SQL thread, write, the replica stays behind, then catches up.
$r2->stop_sql_thread;
$p->sql("INSERT INTO test.t1 VALUES (3, 'three')");
ok($topo->wait_for_replicas(10, $r1), 'r1 catches up while r2 is stopped');
ok(!$topo->wait_for_replicas(0.5, $r2), 'r2 lags while its SQL thread is stopped');
is($r2->value('SELECT COUNT(*) FROM test.t1 WHERE id = 3'), 0, 'r2 does not have the new row');
$r2->start_sql_thread;
ok($topo->wait_for_replicas(10, $r2), 'r2 catches up after START SLAVE SQL_THREAD');

# SIGSTOP / SIGCONT.
$r1->pause;
ok(!eval { my $h = $t->connect(port => $r1->port, connect_timeout => 1, read_timeout => 1);
           $h && $h->selectrow_array('SELECT 1') }, 'a paused replica does not answer');
$r1->resume;
ok($t->connect(port => $r1->port), 'a resumed replica answers again');

# Stop / start a replica and the primary; replication resumes.
$r1->stop;
ok(!$r1->is_running, 'r1 stopped');
$p->sql("INSERT INTO test.t1 VALUES (4, 'four')");
$r1->start;
ok($topo->wait_for_replicas(20), 'r1 catches up after a restart');

$p->kill9;
ok(!$p->is_running, 'primary killed with SIGKILL');
$p->start;
$p->sql("INSERT INTO test.t1 VALUES (5, 'five')");
ok($topo->wait_for_replicas(20), 'replicas reconnect and catch up after the primary restarts');
is($_->value('SELECT COUNT(*) FROM test.t1'), 7, $_->name . ' has every row') for $r1, $r2;

$t->done;
