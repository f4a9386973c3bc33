# Optimistic transactions (issue 8): a transaction that only reads runs on a replica; at its
# first write it moves to the primary, replayed and checked; if the primary's data differs
# from what it read, the client gets ERR 1213 (SQLSTATE 40001) and nothing is written.
# Where each read ran comes from the marker table (each server names itself).
#  - Spring's read-only unit of work with Connector/J's defaults: set autocommit=0, reads,
#    COMMIT, set autocommit=1 (DBD::MariaDB, text protocol, sends the same);
#  - BEGIN ... COMMIT of reads; PHP PDO beginTransaction() with reads;
#  - a read-then-write unit of work: the write lands on the primary, the transaction sees it,
#    COMMIT keeps it;
#  - a concurrent update of a row the transaction read: its write gets ERR 1213, the row
#    keeps the other connection's value, and the retried transaction (on the primary) works;
#  - with lagging replicas, a transaction after the session's write reads that write;
#  - causewayctl counts started, completed, migrated and conflicting transactions.
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
my @replicas = $topo->replicas;
my %is_replica = map { $_->name => 1 } @replicas;
$primary->sql($_) for ('CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)',
                       'INSERT INTO test.t SELECT seq, seq * 10 FROM test.seq_1_to_100');
$topo->add_markers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');
my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', session_id => 'CONNECTION' } });
sub counters { return $t->ctl_counters($cw) }

my $dbh = $t->connect(port => $cw->port);
ok(wait_until(sub { my ($n) = $dbh->selectrow_array('SELECT name FROM marker'); $is_replica{ $n // '' } },
              timeout => 10, interval => 0.05), 'a plain read is answered by a replica');
my $read = sub { my ($h, $id) = @_; return $h->selectrow_arrayref("SELECT t.v, m.name FROM t JOIN marker m WHERE t.id = $id") // [] };

# Spring @Transactional(readOnly = true) through Connector/J: set autocommit=0 ... COMMIT.
my %by;
my $bad = 0;
for my $unit (1 .. 10) {
    $dbh->do('set autocommit=0');
    for my $id (1 .. 5) {
        my $r = $read->($dbh, $id);
        $bad++ unless ($r->[0] // -1) == $id * 10;
        $by{ $r->[1] // 'ERR' }++;
    }
    $dbh->do('COMMIT');
    $dbh->do('set autocommit=1');
}
is($bad, 0, 'Spring read-only units of work (autocommit=0): every read right');
is(scalar(grep { !$is_replica{$_} } keys %by), 0, 'all 50 of their reads answered by replicas')
    or diag(explain \%by);

# BEGIN ... COMMIT of reads.
%by = ();
for (1 .. 5) {
    $dbh->do('BEGIN');
    $by{ $read->($dbh, $_)->[1] // 'ERR' }++ for 1 .. 3;
    $dbh->do('COMMIT');
}
is(scalar(grep { !$is_replica{$_} } keys %by), 0, 'BEGIN ... COMMIT: reads answered by replicas') or diag(explain \%by);

# Read, then write: the transaction moves to the primary and goes on there. (Its reads must
# not name the marker: the replica's answer would differ from the primary's by design.)
my $migrated0 = counters()->{optimistic_migrated} // 0;
ok($dbh->do('BEGIN'), 'read-then-write: BEGIN');
is(($dbh->selectrow_array('SELECT v FROM t WHERE id = 7'))[0], 70, 'its first read');
ok($dbh->do('UPDATE t SET v = v + 1 WHERE id = 7'), 'its write succeeds (moved to the primary)') or diag($dbh->errstr);
my $inside = $read->($dbh, 7);
is_deeply($inside, [ 71, 'primary' ], 'it then reads its own write, on the primary');
is((counters()->{optimistic_migrated} // 0) - $migrated0, 1, 'causewayctl counts one migrated transaction');
ok($dbh->do('COMMIT'), 'COMMIT');
is($primary->value('SELECT v FROM test.t WHERE id = 7'), 71, 'the write is committed on the primary');

# autocommit=0 with a write: the same, under Connector/J's way of opening transactions.
$dbh->{AutoCommit} = 0;
is(($dbh->selectrow_array('SELECT v FROM t WHERE id = 8'))[0], 80, 'autocommit=0: a read');
ok($dbh->do('UPDATE t SET v = 81 WHERE id = 8'), 'autocommit=0: a write after it');
ok($dbh->commit, 'autocommit=0: commit');
$dbh->{AutoCommit} = 1;
is($primary->value('SELECT v FROM test.t WHERE id = 8'), 81, 'committed');

# A session whose transaction wrote starts the next ones on the primary, until one of them
# commits without writing (a session that writes in every unit of work pays no replays).
my $started0 = counters()->{optimistic_started} // 0;
$dbh->do('BEGIN');
$dbh->selectrow_array('SELECT v FROM t WHERE id = 9');
$dbh->do('COMMIT');
is((counters()->{optimistic_started} // 0) - $started0, 0, 'after a writing transaction the next one runs on the primary');

# A concurrent update of what the transaction read: ERR 1213, nothing written.
ok($topo->wait_for_replicas(30), 'replicas caught up');
$started0 = counters()->{optimistic_started} // 0;
ok($dbh->do('BEGIN'), 'conflict: BEGIN (the previous transaction did not write: on a replica again)');
is(($dbh->selectrow_array('SELECT v FROM t WHERE id = 20'))[0], 200, 'it reads row 20');
is((counters()->{optimistic_started} // 0) - $started0, 1, '... in an optimistic transaction');
$primary->sql('UPDATE test.t SET v = 999 WHERE id = 20');
ok(!$dbh->do('UPDATE t SET v = v + 1 WHERE id = 21'), 'its first write after another connection changed row 20 fails');
is($dbh->err, 1213, '... with ERR 1213');
is($dbh->state, '40001', '... SQLSTATE 40001');
$dbh->do('ROLLBACK');
is($primary->value('SELECT v FROM test.t WHERE id = 21'), 210, 'nothing was written');
is($primary->value('SELECT v FROM test.t WHERE id = 20'), 999, "the other connection's value stands");
ok($dbh->do('BEGIN'), 'the retried transaction: BEGIN');
is(($dbh->selectrow_array('SELECT v FROM t WHERE id = 20'))[0], 999, 'it reads the current value');
ok($dbh->do('UPDATE t SET v = v + 1 WHERE id = 21') && $dbh->do('COMMIT'), 'and writes and commits');
is($primary->value('SELECT v FROM test.t WHERE id = 21'), 211, 'committed');

# Read-your-writes across the start of a transaction, replicas lagging.
$_->stop_sql_thread for @replicas;
my $stale = 0;
for my $i (1 .. 20) {
    $dbh->do("UPDATE t SET v = $i WHERE id = 30");
    $dbh->do('BEGIN');
    my $r = $read->($dbh, 30);
    $stale++ unless ($r->[0] // -1) == $i;
    $dbh->do('COMMIT');
}
is($stale, 0, 'a transaction right after the session\'s write reads it (replicas lagging): 0 stale of 20');
$_->start_sql_thread for @replicas;
ok($topo->wait_for_replicas(30), 'replicas catch up');

# PHP PDO beginTransaction() with reads only.
my $php = <<'PHP';
<?php
$port = (int)$argv[1];
$replicas = explode(',', $argv[2]);
function check($name, $cond, $detail = '') { echo ($cond ? "ok $name" : "not ok $name: $detail"), "\n"; }
$pdo = new PDO("mysql:host=127.0.0.1;port=$port;dbname=test", 'app', 'secret', [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$seen = []; $bad = 0;
for ($i = 1; $i <= 5; $i++) {
    $pdo->beginTransaction();
    $r = $pdo->query("SELECT t.v, m.name FROM t JOIN marker m WHERE t.id = 50")->fetch(PDO::FETCH_NUM);
    if ((int)$r[0] !== 500) { $bad++; }
    $seen[] = $r[1];
    $pdo->commit();
}
check('pdo_transaction_reads', $bad === 0, "$bad wrong");
$off = array_filter($seen, function ($n) use ($replicas) { return !in_array($n, $replicas, true); });
check('pdo_transaction_on_replicas', !$off, implode(',', $seen));
PHP
my $php_file = $t->dir . '/pdo-trx.php';
spit($php_file, $php);
$t->script_checks('PHP PDO', [ 'php', $php_file, $cw->port, join(',', sort keys %is_replica) ],
                  [qw(pdo_transaction_reads pdo_transaction_on_replicas)]);

# DBD::MariaDB with server-side prepares (and sysbench) send even BEGIN and COMMIT as
# prepared statements: they run as their text form, so the transaction starts on a replica,
# and a read then a write migrates and commits (as an execute, the prepared BEGIN's
# transaction ended with a false ERR 1213 at its write).
{
    my $sp = $t->connect(port => $cw->port, dsn => 'mariadb_server_prepare=1');
    my $before = counters();
    my $errors = 0;
    for my $unit (1 .. 5) {
        $sp->do('BEGIN') or $errors++;
        my $sel = $sp->prepare('SELECT v FROM t WHERE id = ?');
        $sel->execute(70) or $errors++;
        $sel->fetchall_arrayref;
        $sp->do('UPDATE t SET v = v WHERE id = 70') or do { $errors++; diag("unit $unit: $DBI::err $DBI::errstr") };
        $sp->do('COMMIT') or $errors++;
    }
    is($errors, 0, 'DBD::MariaDB server prepares: BEGIN, a read, a write, COMMIT: 5 of 5 commit without ERR 1213');
    my $after = counters();
    is(($after->{optimistic_migrated} // 0) - ($before->{optimistic_migrated} // 0), 5,
       '... each started on a replica and migrated at its write with the same answers');
    my %where;
    for (1 .. 3) {
        $sp->do('BEGIN');
        my $sel = $sp->prepare('SELECT m.name FROM marker m');
        $sel->execute;
        $where{ ($sel->fetchrow_array)[0] // 'ERR' }++;
        $sp->do('COMMIT');
    }
    is(scalar(grep { !$is_replica{$_} } keys %where), 0, '... and a prepared read-only unit runs on a replica')
        or diag(explain \%where);
}

my $c = counters();
cmp_ok($c->{optimistic_started} // 0, '>=', 20, "causewayctl: optimistic transactions started ($c->{optimistic_started})");
cmp_ok($c->{optimistic_completed} // 0, '>=', 15, "completed on replicas ($c->{optimistic_completed})");
cmp_ok($c->{optimistic_migrated} // 0, '>=', 2, "migrated ($c->{optimistic_migrated})");
is($c->{optimistic_conflicts} // 0, 1, 'one conflict');
$dbh->disconnect;
$t->done;
