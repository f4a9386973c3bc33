# Optimistic transactions with real clients (issue 8 items 1, 3 and 6): each unit of work that
# only reads runs on a replica, proven from the servers' own Com_select counters (less the
# poller's and this test's own selects, from USER_STATISTICS) and from the marker table (each
# server names itself); writes land on the primary; results are the data as set up (what a
# direct connection reads); no read is stale.
#  - Connector/J: the Spring read-only sequence (set autocommit=0, reads, COMMIT,
#    set autocommit=1) and a read-then-write unit, with client-side prepares (text) and with
#    useServerPrepStmts (COM_STMT_EXECUTE inside the transaction stays on the replica);
#  - SQLAlchemy ORM sessions over PyMySQL (autocommit off: every session is a transaction);
#  - PHP PDO beginTransaction() with native and emulated prepares;
#  - the mariadb CLI under autocommit=0;
#  - statements whose answers cannot be repeated (NOW(), RAND(), UUID()): first, the
#    transaction runs on the primary from the start; later, it moves there before they run;
#    counted by reason;
#  - a concurrent update of a row a binary-protocol transaction read on its replica: the
#    transaction's write gets ERR 1213, never commits on top of the stale read.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;
use Causeway::Util qw(wait_until);

my $t = Causeway::Test->new;
$t->need_proxy('read/write splitting');
my $topo = $t->topology;
my $primary = $topo->primary;
my @replicas = $topo->replicas;
my %is_replica = map { $_->name => 1 } @replicas;
my $replica_list = join(',', sort keys %is_replica);
$primary->sql($_) for ('CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)',
                       'INSERT INTO test.t SELECT seq, seq * 10 FROM test.seq_1_to_100');
$topo->add_markers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');
my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', session_id => 'CONNECTION' } });
sub counters { return $t->ctl_counters($cw) }
my $dbh = $t->connect(port => $cw->port);
ok(wait_until(sub { my ($n) = $dbh->selectrow_array('SELECT name FROM marker'); $is_replica{ $n // '' } },
              timeout => 10, interval => 0.05), 'a plain read is answered by a replica');

# The application's selects per server: Com_select less every other user's SELECT_COMMANDS
# (the poller's, this test's own). The two are not read atomically: a poll or this query itself
# may fall between them, so comparisons allow a margin of 2 (the marker checks are exact).
sub app_selects {
    my %n;
    for my $s ($topo->servers) {
        my $com = $s->sql("SHOW GLOBAL STATUS LIKE 'Com_select'")->[0][1];
        my $other = 0;
        $other += $_->[1]
            for grep { $_->[0] ne 'app' } @{ $s->sql('SELECT USER, SELECT_COMMANDS FROM information_schema.USER_STATISTICS') };
        $n{ $s->name } = $com - $other;
    }
    return \%n;
}
# Runs a client program; checks its ok lines; then that the replicas served at least
# $replica_reads of the application's selects during it.
sub client {
    my ($label, $cmd, $checks, $replica_reads) = @_;
    my $s0 = app_selects();
    $t->script_checks($label, $cmd, $checks, timeout => 60);
    my $s1 = app_selects();
    my %d = map { ($_ => $s1->{$_} - $s0->{$_}) } keys %$s1;
    my $on_replicas = 0;
    $on_replicas += $d{$_} for grep { $is_replica{$_} } keys %d;
    note("$label: application selects by server: " . join(', ', map { "$_ $d{$_}" } sort keys %d));
    cmp_ok($on_replicas, '>=', $replica_reads - 2, "$label: the replicas' Com_select counted its $replica_reads read-only reads");
}

# ---- Connector/J, text and binary protocol ---------------------------------------------------
my $jar = '/usr/share/java/mariadb-java-client.jar';
SKIP: {
    skip 'no java or Connector/J', 2 unless -r $jar && `sh -c 'command -v java'`;
    for my $mode (qw(text server)) {
        client("Connector/J ($mode)", [ 'java', '-cp', $jar, 't/optimistic/OtxClient.java', $cw->port, $replica_list, $mode ],
               [ map { "${mode}_$_" } qw(readonly_results readonly_on_replicas write_updates reads_own_write
                                          read_then_write_start no_stale_reads) ], 50);
    }
}
is($primary->value('SELECT v FROM test.t WHERE id = 61'), 611, 'Connector/J (binary): the write is on the primary');
is($primary->value('SELECT v FROM test.t WHERE id = 62'), 621, 'Connector/J (text): the write is on the primary');

# ---- SQLAlchemy ORM over PyMySQL ----------------------------------------------------------------
my $py = Causeway::Test::python() // 'python3';
SKIP: {
    skip 'no SQLAlchemy', 1 if system("$py -c 'import sqlalchemy' >/dev/null 2>&1") != 0;
    client('SQLAlchemy ORM', [ $py, 't/optimistic/orm_session.py', $cw->port, $replica_list ],
           [qw(orm_readonly_results orm_readonly_on_replicas orm_read_then_write orm_no_stale_reads)], 60);
    is($primary->value('SELECT v FROM test.t WHERE id = 63'), 631, 'SQLAlchemy: the write is on the primary');
}

# ---- PHP PDO ---------------------------------------------------------------------------------------
client('PHP PDO', [ 'php', 't/optimistic/pdo.php', $cw->port, $replica_list ],
       [ map { ("pdo_${_}_results", "pdo_${_}_on_replicas", "pdo_${_}_read_then_write") } qw(native emulated) ], 60);
is($primary->value('SELECT v FROM test.t WHERE id = 64') . ' ' . $primary->value('SELECT v FROM test.t WHERE id = 65'),
   '641 651', 'PDO: both writes are on the primary');

# ---- the mariadb CLI under autocommit=0 ------------------------------------------------------------
{
    my $sql = '';
    for my $unit (1 .. 5) {
        $sql .= "SET autocommit=0;\n";
        $sql .= "SELECT t.v, m.name FROM t JOIN marker m WHERE t.id = $_;\n" for 1 .. 4;
        $sql .= "COMMIT;\nSET autocommit=1;\n";
    }
    my $s0 = app_selects();
    my $r = $t->mariadb([ '-N', '-B' ], port => $cw->port, stdin => $sql, timeout => 30);
    my $s1 = app_selects();
    my @rows = map { [ split /\t/ ] } grep { /\S/ } split /\n/, $r->{out};
    is(scalar(@rows), 20, 'CLI autocommit=0: 20 reads answered') or diag($r->{err});
    my $i = 0;
    my @wrong = grep { my $id = $i++ % 4 + 1; $_->[0] != $id * 10 } @rows;
    is(scalar(@wrong), 0, 'CLI autocommit=0: every value as set up');
    is(scalar(grep { !$is_replica{ $_->[1] // '' } } @rows), 0, 'CLI autocommit=0: every read answered by a replica');
    my $n = 0;
    $n += $s1->{$_} - $s0->{$_} for keys %is_replica;
    cmp_ok($n, '>=', 20 - 2, "CLI autocommit=0: the replicas' Com_select counted the 20 reads");
}

# ---- unrepeatable answers -----------------------------------------------------------------------------
ok($topo->wait_for_replicas(30), 'replicas caught up');
my $c0 = counters();
my $who = sub { my ($sql) = @_; my $r = $dbh->selectrow_arrayref($sql); return $r ? $r->[-1] : 'ERR ' . $dbh->errstr };
$dbh->do('set autocommit=0');
is($who->('SELECT NOW(), m.name FROM marker m'), 'primary', 'autocommit=0, NOW() first: the transaction runs on the primary');
is($who->('SELECT t.v, m.name FROM t JOIN marker m WHERE t.id = 1'), 'primary', '... all of it');
ok($dbh->do('COMMIT'), '... and commits');
$dbh->do('set autocommit=1');
ok($dbh->do('BEGIN'), 'BEGIN, then UUID() first');
is($who->('SELECT UUID(), m.name FROM marker m'), 'primary', '... runs on the primary');
ok($dbh->do('COMMIT'), '... COMMIT');
my $c1 = counters();
is(($c1->{optimistic_primary_unrepeatable} // 0) - ($c0->{optimistic_primary_unrepeatable} // 0), 2,
   'causewayctl: two transactions sent to the primary from the start as unrepeatable');
is(($c1->{optimistic_migrated} // 0) - ($c0->{optimistic_migrated} // 0), 0, '... neither counted as migrated');

ok($dbh->do('BEGIN'), 'BEGIN, a read, then RAND()');
is(($dbh->selectrow_array('SELECT v FROM t WHERE id = 2'))[0], 20, '... the read (on the replica)');
my $r = $dbh->selectrow_arrayref('SELECT RAND(), m.name FROM marker m');
is($r ? $r->[1] : 'ERR ' . $dbh->err, 'primary', '... RAND() moves the transaction first: the primary answers it, no 1213');
ok($dbh->do('COMMIT'), '... COMMIT');
my $c2 = counters();
is(($c2->{optimistic_migrated} // 0) - ($c1->{optimistic_migrated} // 0), 1, 'counted as migrated');
is(($c2->{optimistic_conflicts} // 0) - ($c0->{optimistic_conflicts} // 0), 0, 'no conflict');
ok($dbh->do('BEGIN') && $dbh->do('COMMIT'), 'a transaction that did not write');
my $c3 = counters();
is(($c3->{optimistic_primary_wrote} // 0) - ($c2->{optimistic_primary_wrote} // 0), 0,
   '... started on a replica: moving for RAND() does not count as a write');

# ---- a concurrent update, binary protocol -----------------------------------------------------------
my $bin = $t->connect(port => $cw->port, dsn => 'mariadb_server_prepare=1');
ok($bin, 'a DBD::MariaDB connection with server-side prepares');
ok($topo->wait_for_replicas(30), 'replicas caught up');
$c0 = counters();
ok($bin->begin_work, 'conflict (binary): BEGIN');
my $sel = $bin->prepare('SELECT v FROM t WHERE id = ?');
$sel->execute(40);
is(($sel->fetchrow_array)[0], 400, 'it reads row 40 with COM_STMT_EXECUTE');
$sel->finish;
$c1 = counters();
is(($c1->{optimistic_started} // 0) - ($c0->{optimistic_started} // 0), 1, "... in an optimistic transaction") or diag(explain [$c0, $c1]);
is(($c1->{optimistic_migrated} // 0) - ($c0->{optimistic_migrated} // 0), 0, '... that the execute did not move');
$primary->sql('UPDATE test.t SET v = 4000 WHERE id = 40');
my $up = $bin->prepare('UPDATE t SET v = v + 1 WHERE id = ?');
ok(!$up->execute(41), 'its write after another connection changed row 40 fails');
is($bin->err, 1213, '... with ERR 1213');
$bin->rollback;
is($primary->value('SELECT v FROM test.t WHERE id = 41'), 410, 'nothing was written');
ok($bin->begin_work, 'the retried transaction');
$sel->execute(40);
is(($sel->fetchrow_array)[0], 4000, 'reads the current value');
$sel->finish;
ok($up->execute(41) && $bin->commit, 'writes and commits');
is($primary->value('SELECT v FROM test.t WHERE id = 41'), 411, 'committed');
# No conflict: a binary read then a write migrates with matching binary rows. (The session
# wrote: a transaction that does not write comes first, or the next one starts on the primary.)
ok($bin->begin_work && $bin->commit, 'a transaction that does not write');
ok($topo->wait_for_replicas(30), 'replicas caught up');
$c0 = counters();
ok($bin->begin_work, 'binary read, then write');
$sel->execute(42);
is(($sel->fetchrow_array)[0], 420, '... the read');
$sel->finish;
ok($up->execute(42), '... the write (replayed: the binary rows match)') or diag($bin->errstr);
ok($bin->commit, '... commit');
is($primary->value('SELECT v FROM test.t WHERE id = 42'), 421, '... committed on the primary');
$c1 = counters();
is(($c1->{optimistic_migrated} // 0) - ($c0->{optimistic_migrated} // 0), 1, '... counted as migrated');

$bin->disconnect;
$dbh->disconnect;
$t->done;
