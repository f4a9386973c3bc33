# Replicas that are broken or stuck (issue 10 item 7), in smartscale mode:
#   1. a replica whose SQL thread stopped on an error (a duplicate key: its data diverged) serves
#      no reads, not even to sessions with nothing to wait for, until its replication runs
#      again;
#   2. a replica that is reachable but does not apply (SQL thread stopped) for longer than
#      max_replica_lag_ms is left out of the watermark: the session table's reclaim goes on
#      over the other replica, so a small table does not fill and send every read to the
#      primary; the stuck replica serves reads again once it reaches the floor.
# Reads are counted by the servers themselves (userstat: rows read by the application's
# user; the poller uses the monitor account).
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use Causeway::Test;

my $t = Causeway::Test->new;
$t->need_proxy('replica health is causewayd routing');
my $ctl = $t->root . '/bin/causewayctl';
my $topo = $t->topology;
my $p = $topo->primary;
my ($r1, $r2) = $topo->replicas;
my $cw = $t->causeway(config => {
    causeway => { mode => 'smartscale', session_id => 'CONNECTION', max_replica_lag_ms => 1000 },
    monitor  => { health_interval_ms => 200, session_table_size => 1024 } });

$p->sql('CREATE TABLE test.b (id INT PRIMARY KEY, v VARCHAR(20))');
$p->sql("INSERT INTO test.b VALUES (1, 'one')");
$p->sql('CREATE TABLE test.w (id INT PRIMARY KEY AUTO_INCREMENT, v INT)');
$_->sql('SET GLOBAL userstat = 1') for $r1, $r2;
ok($topo->wait_for_replicas(20), 'replicas caught up with the set-up');

sub replicas_json {
    my $r = $t->run([$ctl, '-c', $cw->cnf, '--json', 'replicas'], timeout => 10);
    return eval { decode_json($r->{out}) } // {};
}
sub backend { my ($name) = @_; my ($b) = grep { $_->{name} eq $name } @{ replicas_json()->{backends} // [] }; $b // {} }
sub counters {
    my $r = $t->run([$ctl, '-c', $cw->cnf, '--json', 'counters'], timeout => 10);
    return (eval { decode_json($r->{out}) } // {})->{total}{routed} // {};
}
sub app_rows {
    my ($s) = @_;
    my $row = $s->dbh->selectrow_arrayref("SELECT ROWS_READ FROM information_schema.USER_STATISTICS WHERE USER = 'app'");
    return $row ? $row->[0] : 0;
}
# $n one-read connections; the values they read and the rows each replica read for them.
sub reads {
    my ($n, $sql) = @_;
    my %before = map { ($_->name => app_rows($_)) } $r1, $r2;
    my %seen;
    for (1 .. $n) {
        my $dbh = $t->connect(port => $cw->port) or next;
        my $row = $dbh->selectrow_arrayref($sql);
        $seen{ $row ? $row->[0] // 'NULL' : 'error: ' . ($DBI::errstr // '') }++;
    }
    return (\%seen, { map { ($_->name => app_rows($_) - $before{ $_->name }) } $r1, $r2 });
}

# ------------------------------------------------------------------ 1. broken replica
ok(wait_until(sub { backend('r1')->{usable} && backend('r2')->{usable} }, timeout => 10), 'both replicas usable');
{
    my $d = $r1->dbh;
    $d->do('SET SESSION sql_log_bin = 0');
    $d->do("INSERT INTO test.b VALUES (5, 'divergent')");
    $d->do('SET SESSION sql_log_bin = 1');
}
$p->sql("INSERT INTO test.b VALUES (5, 'primary')");
ok(wait_until(sub { backend('r1')->{replication_error} }, timeout => 10),
   'r1 stopped on the duplicate key: replicas shows replication_error');
ok(!backend('r1')->{usable}, '... and r1 is not usable');
like($cw->log_text, qr/r1.*replication stopped on an error \(SQL 1062/, 'logged with the error number');
my ($seen, $rows) = reads(40, 'SELECT v FROM test.b WHERE id = 5');
is_deeply($seen, { primary => 40 }, 'every read of sessions with nothing to wait for sees the primary\'s row');
is($rows->{r1}, 0, 'no read reached the broken replica');
cmp_ok($rows->{r2}, '>', 0, "reads went to r2 ($rows->{r2} rows)");

# The operator repairs r1: its divergent row goes, replication runs again.
{
    my $d = $r1->dbh;
    $d->do('SET SESSION sql_log_bin = 0');
    $d->do('DELETE FROM test.b WHERE id = 5');
    $d->do('SET SESSION sql_log_bin = 1');
    $d->do('START SLAVE');
}
ok($topo->wait_for_replicas(20), 'r1 repaired and caught up');
ok(wait_until(sub { my $b = backend('r1'); !$b->{replication_error} && $b->{usable} }, timeout => 10),
   'r1 usable again');
($seen, $rows) = reads(40, 'SELECT v FROM test.b WHERE id = 5');
is_deeply($seen, { primary => 40 }, 'after the repair every read sees the same row');
cmp_ok($rows->{r1}, '>', 0, "reads reach r1 again ($rows->{r1} rows)");

# ------------------------------------------------------------------ 2. stuck replica
$r2->sql('STOP SLAVE SQL_THREAD');
my $full_before = counters()->{primary_table_full} // 0;
# 1,500 sessions that write (each connection is one), more than the 1,024 entries of the
# table: only reclaim over the applying replica keeps room for them.
my $t0 = time;
my $wrote = 0;
for my $i (1 .. 1500) {
    my $dbh = $t->connect(port => $cw->port) or next;
    $wrote++ if $dbh->do('INSERT INTO test.w (v) VALUES (?)', undef, $i);
    sleep 0.5 if $i == 100;    # past max_replica_lag_ms: r2 is lagging from here on
}
is($wrote, 1500, '1,500 sessions wrote');
note(sprintf('1,500 write sessions in %.1f s', time - $t0));
ok(wait_until(sub { backend('r2')->{lagging} }, timeout => 5), 'r2 (SQL thread stopped) is lagging');
ok(!backend('r2')->{usable}, '... and not usable');
is((counters()->{primary_table_full} // 0) - $full_before, 0, 'no read found the session table full');
my $st = $t->run([$ctl, '-c', $cw->cnf, '--json', 'status'], timeout => 10);
my $s = eval { decode_json($st->{out}) } // {};
cmp_ok($s->{poller}{reclaimed_entries} // 0, '>', 0,
       "the poller reclaimed entries meanwhile ($s->{poller}{reclaimed_entries})");
is($s->{sessions}{stats}{updates_full} // -1, 0, 'no write found the session table full');
($seen, $rows) = reads(20, 'SELECT COUNT(*) FROM test.w');
is_deeply($seen, { 1500 => 20 }, 'reads see every write');
is($rows->{r2}, 0, 'no read reached the stuck replica');
cmp_ok($rows->{r1}, '>', 0, "reads went to r1 ($rows->{r1} rows)");

$r2->sql('START SLAVE SQL_THREAD');
ok($topo->wait_for_replicas(20), 'r2 applies again and catches up');
ok(wait_until(sub { my $b = backend('r2'); !$b->{lagging} && $b->{usable} }, timeout => 10),
   'r2 usable again once it reached the floor');
($seen, $rows) = reads(40, 'SELECT COUNT(*) FROM test.w');
cmp_ok($rows->{r2}, '>', 0, "reads reach r2 again ($rows->{r2} rows)");

$t->done;
