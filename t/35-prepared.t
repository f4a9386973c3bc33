# Server-side prepared statements under SmartScale routing (issue 4 item 10; DESIGN §2:
# read-only prepared statements go to replicas): DBD::MariaDB with mariadb_server_prepare=1
# and PHP PDO with ATTR_EMULATE_PREPARES=false. Prepared reads are answered by replicas
# (marker table; Com_stmt_execute on the replicas), and read-your-writes holds for prepared
# UPDATE + prepared SELECT: 1000 round trips with r1's SQL thread stopped (r1 must serve none,
# USER_STATISTICS), and a PDO loop that names the answering server on every read.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;
use Time::HiRes qw(time);

my $t = Causeway::Test->new;

# A file that cannot even connect fails once and stops here (no BAIL_OUT: the other files run).
sub give_up { my ($why) = @_; fail($why); $t->done; exit }
$t->need_proxy('read/write splitting');
my $topo = $t->topology;
my $primary = $topo->primary;
my ($r1, $r2) = $topo->replicas;
my %is_replica = map { $_->name => 1 } $topo->replicas;

$primary->sql($_) for (
    'CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)',
    'INSERT INTO test.t SELECT seq, 0 FROM test.seq_1_to_10',
);
$topo->add_markers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');

my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', session_id => 'CONNECTION' } });
my $port = $cw->port;

sub status {
    my ($var) = @_;
    return { map { ($_->name => $_->sql("SHOW GLOBAL STATUS LIKE '$var'")->[0][1]) } $topo->servers };
}
sub rows_read {
    my ($user) = @_;
    return { map { ($_->name => $_->value('SELECT ROWS_READ FROM information_schema.USER_STATISTICS WHERE USER = ?',
                                          $user) // 0) } $topo->servers };
}

# ---- Perl DBD::MariaDB, server-side prepares -------------------------------------------------

my $dbh = $t->connect(dsn => 'mariadb_server_prepare=1') or give_up("connect: $DBI::errstr");

# Right after causewayd starts, its poller may not have reported the replicas yet, and reads
# rightly stay on the primary: wait (bounded) until a plain read is answered by a replica.
sub settle {
    my ($h) = @_;
    return wait_until(sub { my $w = ($h->selectrow_array('SELECT name FROM marker'))[0] // '';
                            $w =~ /^r\d$/ }, timeout => 5, interval => 0.05);
}
ok(settle($dbh), 'a plain read is answered by a replica within 5 s of the start');
{
    my $e0 = status('Com_stmt_execute');
    my $sth = $dbh->prepare('SELECT name FROM marker');
    my %by;
    for (1 .. 20) {
        my $who = $sth->execute ? ($sth->fetchrow_array)[0] : 'ERR ' . $dbh->errstr;
        $sth->finish;
        $by{$who // 'NULL'}++;
    }
    my $e1 = status('Com_stmt_execute');
    my $on = 0;
    $on += $by{$_} for grep { $is_replica{$_} } keys %by;
    note('prepared SELECT name FROM marker x20: ' . join(', ', map { "$_ $by{$_}" } sort keys %by)
         . sprintf('; Com_stmt_execute deltas primary %d, r1 %d, r2 %d', map { $e1->{$_} - $e0->{$_} } qw(primary r1 r2)));
    cmp_ok($on, '>=', 18, 'DBD::MariaDB prepared reads are answered by replicas (marker, at least 18 of 20)');
    cmp_ok($e1->{r1} - $e0->{r1} + $e1->{r2} - $e0->{r2}, '>=', $on,
           'the replicas executed them as prepared statements (Com_stmt_execute grew by as much)');
}

# $n prepared UPDATE + prepared SELECT round trips on row $row; returns a report.
sub prepared_ryw {
    my ($n, $row, $base) = @_;
    my %r = (done => 0, stale => 0, errors => 0);
    my $upd = $dbh->prepare('UPDATE t SET v = ? WHERE id = ?');
    my $sel = $dbh->prepare('SELECT v FROM t WHERE id = ?');
    my $deadline = time + 30;
    for my $i (1 .. $n) {
        last if time > $deadline;
        my $v = $base + $i;
        my $rows = $upd->execute($v, $row);
        if (!$rows || $rows != 1) {
            $r{errors}++;
            $r{first_error} //= "UPDATE #$i: " . ($DBI::err ? "ERR $DBI::err $DBI::errstr" : "affected $rows");
            next;
        }
        my $ok = $sel->execute($row);
        my ($got) = $ok ? $sel->fetchrow_array : ();
        $sel->finish;
        if (!$ok) { $r{errors}++; $r{first_error} //= "SELECT #$i: ERR $DBI::err $DBI::errstr"; next }
        if (!defined $got || $got != $v) { $r{stale}++; $r{first_stale} //= "#$i: wrote $v, read " . ($got // 'NULL') }
        $r{done}++;
    }
    return \%r;
}

sub ryw_checks {
    my ($label, $n, $r, $before, $after) = @_;
    is($r->{done}, $n, "$label: $n round trips completed");
    is($r->{errors}, 0, "$label: no error") or diag($r->{first_error});
    is($r->{stale}, 0, "$label: no stale read") or diag($r->{first_stale});
    my %s = map { ($_ => $after->{$_} - $before->{$_}) } qw(r1 r2);
    note("$label: reads served by r1 $s{r1}, r2 $s{r2} of $n");
    return \%s;
}

{
    my $b = rows_read('app');
    my $r = prepared_ryw(300, 1, 0);
    my $s = ryw_checks('prepared write-then-read, replicas running', 300, $r, $b, rows_read('app'));
    cmp_ok($s->{r1} + $s->{r2}, '>=', 75,
           'prepared write-then-read, replicas running: at least a quarter of the reads are served by replicas');
}

$r1->stop_sql_thread;
{
    my $b = rows_read('app');
    my $r = prepared_ryw(1000, 2, 10000);
    my $s = ryw_checks("prepared write-then-read, r1's SQL thread stopped", 1000, $r, $b, rows_read('app'));
    is($s->{r1}, 0, "prepared write-then-read, r1's SQL thread stopped: r1 serves no read");
    cmp_ok($s->{r2}, '>=', 250, "prepared write-then-read, r1's SQL thread stopped: r2 still serves at least a quarter of them");
}
$dbh->disconnect;

# ---- PHP PDO, ATTR_EMULATE_PREPARES = false (as app2) ----------------------------------------

my $php = <<'PHP';
<?php
$port = (int)$argv[1];
$n = (int)$argv[2];
$replicas = ['r1' => 1, 'r2' => 1];
function check($name, $cond, $detail = '') { echo ($cond ? "ok $name" : "not ok $name: $detail"), "\n"; }
try {
    $pdo = new PDO("mysql:host=127.0.0.1;port=$port;dbname=test", 'app2', 'secret2',
                   [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION, PDO::ATTR_EMULATE_PREPARES => false]);
    $st = $pdo->prepare('SELECT name FROM marker');
    $by = [];
    for ($i = 0; $i < 10; $i++) { $st->execute(); $w = $st->fetchColumn(); $st->closeCursor(); $by[$w] = ($by[$w] ?? 0) + 1; }
    $on = 0; foreach ($by as $w => $c) { if (isset($replicas[$w])) $on += $c; }
    check('pdo_prepared_read_on_replica', $on >= 8, json_encode($by));
    echo "# PDO prepared SELECT name FROM marker x10: ", json_encode($by), "\n";

    $upd = $pdo->prepare('UPDATE t SET v = ? WHERE id = ?');
    $sel = $pdo->prepare('SELECT t.v, m.name FROM t JOIN marker m WHERE t.id = ?');
    $stale = 0; $first = ''; $by = []; $done = 0;
    $deadline = microtime(true) + 30;
    for ($i = 1; $i <= $n && microtime(true) < $deadline; $i++) {
        $v = 50000 + $i;
        $upd->execute([$v, 3]);
        if ($upd->rowCount() != 1) { throw new Exception("UPDATE #$i changed " . $upd->rowCount() . " rows"); }
        $sel->execute([3]);
        $row = $sel->fetch(PDO::FETCH_NUM);
        $sel->closeCursor();
        $by[$row[1]] = ($by[$row[1]] ?? 0) + 1;
        if ((int)$row[0] !== $v) { $stale++; if ($first === '') $first = "#$i: wrote $v, read $row[0] from $row[1]"; }
        $done++;
    }
    echo "# PDO prepared write-then-read x$done, answered by: ", json_encode($by), "\n";
    check('pdo_ryw_completed', $done == $n, "$done of $n");
    check('pdo_ryw_no_stale_read', $stale == 0, "$stale stale, first $first");
    check('pdo_ryw_not_on_stopped_replica', ($by['r1'] ?? 0) == 0, json_encode($by));
    check('pdo_ryw_often_on_replicas', ($by['r2'] ?? 0) >= $n / 4, json_encode($by));
} catch (Throwable $e) {
    echo "not ok pdo: ", get_class($e), ': ', $e->getMessage(), "\n";
}
PHP
my $php_file = $t->dir . '/prepared.php';
spit($php_file, $php);
my $r = $t->script_checks("PHP PDO (r1's SQL thread stopped)",
    ['php', '-d', 'display_errors=stderr', '-d', 'error_reporting=-1', $php_file, $port, 300],
    [qw(pdo_prepared_read_on_replica pdo_ryw_completed pdo_ryw_no_stale_read pdo_ryw_not_on_stopped_replica
        pdo_ryw_often_on_replicas)], timeout => 60);
note(s/^#\s*//r) for grep { /^#/ } split /\n/, $r->{out};

$r1->start_sql_thread;
$t->log_is_clean($cw);
$t->done;
