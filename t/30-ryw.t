# Read-your-writes under SmartScale routing (issue 4 item 10) in every session mode at once:
# one causewayd per mode (CONNECTION, USER, DATABASE, PROVIDED_IN_DBNAME), each driven by a
# forked client on one persistent DBD::MariaDB connection (text protocol) doing
# UPDATE t SET v=? WHERE id=? then SELECT v FROM t WHERE id=?; any stale read fails.
# Phases: replicas running (reads must land on replicas), r1's SQL thread stopped (1000 round
# trips; r1 must serve none of them), both stopped (1000; the primary serves them all), both
# restarted (reads go back to the replicas). Where reads landed comes from the servers
# themselves: each mode logs in as its own user and information_schema.USER_STATISTICS
# (userstat) counts the rows that user read on each server (a point read is one row; the
# poller's and MASTER_GTID_WAIT's selects read none).
# t/31-ryw-parallel.t runs this file again with the replicas applying in parallel.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;
use File::Basename qw(dirname);
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(time sleep);

our %RYW_TOPOLOGY;    # extra topology options (t/31-ryw-parallel.t sets replica_extra)

my $t = Causeway::Test->new;
$t->need_proxy('read/write splitting');
my $topo = $t->topology(%RYW_TOPOLOGY);
my $primary = $topo->primary;
my ($r1, $r2) = $topo->replicas;

my @MODES = qw(CONNECTION USER DATABASE PROVIDED_IN_DBNAME);
my %USER = (CONNECTION => 'ryw_conn', USER => 'ryw_user', DATABASE => 'ryw_db',
            PROVIDED_IN_DBNAME => 'ryw_prov');
my %ROW = (CONNECTION => 1, USER => 2, DATABASE => 3, PROVIDED_IN_DBNAME => 4);

$primary->sql($_) for (
    'CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)',
    'INSERT INTO test.t SELECT seq, 0 FROM test.seq_1_to_100',
    map { ("CREATE USER '$_'\@'%' IDENTIFIED BY 'pw'", "GRANT ALL PRIVILEGES ON *.* TO '$_'\@'%'",
           "REVOKE READ_ONLY ADMIN ON *.* FROM '$_'\@'%'") } sort values %USER,
);
$_->sql('SET GLOBAL userstat = 1') for $topo->servers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');

if (my $extra = $RYW_TOPOLOGY{replica_extra}) {
    for my $r ($r1, $r2) {
        for my $k (sort keys %$extra) {
            is(lc $r->value("SELECT \@\@$k"), lc $extra->{$k}, $r->name . " runs with $k = $extra->{$k}");
        }
    }
}

my %cw;
for my $m (@MODES) {
    $cw{$m} = $t->causeway(config => {
        causeway => { mode => 'smartscale', session_id => $m },
        users    => { map { $_ => 'pw' } values %USER } });
}

# Rows each user has read on each server so far: { server => { user => n } }.
sub rows_read {
    my %r;
    for my $s ($topo->servers) {
        my $rows = $s->sql('SELECT USER, ROWS_READ FROM information_schema.USER_STATISTICS');
        $r{ $s->name }{ $_->[0] } = $_->[1] for @$rows;
    }
    return \%r;
}

# One client: $n write-then-read round trips on one connection. Returns a report hash.
sub ryw_client {
    my (%o) = @_;
    my %r = (done => 0, stale => 0, errors => 0);
    my $dbh = $t->connect(port => $o{port}, user => $o{user}, password => 'pw', db => $o{db})
        or return { %r, error => "connect as $o{user} to '$o{db}': $DBI::err $DBI::errstr" };
    my $upd = $dbh->prepare('UPDATE t SET v = ? WHERE id = ?');
    my $sel = $dbh->prepare('SELECT v FROM t WHERE id = ?');
    my @lat;
    for my $i (1 .. $o{n}) {
        if (time > $o{deadline}) { $r{timed_out} = 1; last }
        my $v = $o{base} + $i;
        my $rows = $upd->execute($v, $o{row});
        if (!$rows || $rows != 1) {
            $r{errors}++;
            $r{first_error} //= "UPDATE #$i: " . ($DBI::err ? "ERR $DBI::err $DBI::errstr" : "affected $rows");
            next;
        }
        my $t0 = time;
        my $ok = $sel->execute($o{row});
        my ($got) = $ok ? $sel->fetchrow_array : ();
        push @lat, time - $t0;
        $sel->finish;
        if (!$ok) {
            $r{errors}++;
            $r{first_error} //= "SELECT #$i: ERR $DBI::err $DBI::errstr";
            next;
        }
        if (!defined $got || $got != $v) {
            $r{stale}++;
            $r{first_stale} //= "round trip #$i: wrote $v, read " . ($got // 'NULL');
        }
        $r{done}++;
    }
    my @s = sort { $a <=> $b } @lat;
    @r{qw(p50_ms p99_ms max_ms)} = map { defined $_ ? $_ * 1000 : undef } percentile(\@s, 50), percentile(\@s, 99), $s[-1];
    $dbh->disconnect;
    return \%r;
}

my $phase_no = 0;

# One phase: every mode's client runs $n round trips at once; then per-mode assertions.
# $where->($mode, { r1 => n, r2 => n }, $n) makes the routing assertions.
sub phase {
    my ($label, $n, $seconds, $where) = @_;
    $phase_no++;
    my $before = rows_read();
    my $deadline = time + $seconds;
    my %jobs;
    for my $m (@MODES) {
        my $db = $m eq 'PROVIDED_IN_DBNAME' ? "test?sessionId=ryw-$phase_no" : 'test';
        $jobs{$m} = sub { ryw_client(port => $cw{$m}->port, user => $USER{$m}, db => $db, row => $ROW{$m},
                                     n => $n, base => $phase_no * 100000, deadline => $deadline) };
    }
    my $res = $t->run_parallel($seconds + 15, %jobs);
    my $after = rows_read();
    for my $m (@MODES) {
        my $r = $res->{$m};
        my $u = $USER{$m};
        my %served = map { my $s = $_->name; ($s => ($after->{$s}{$u} // 0) - ($before->{$s}{$u} // 0)) }
                     $topo->replicas;
        # A client that could not run says nothing about routing: one failure, not five.
        next unless is($r->{error} // '', '', "$label, $m: client connected and ran");
        is($r->{done}, $n, "$label, $m: $n write-then-read round trips within $seconds s")
            or diag($r->{timed_out} ? "timed out after $r->{done}" : "completed $r->{done}");
        is($r->{errors}, 0, "$label, $m: no error") or diag($r->{first_error});
        is($r->{stale}, 0, "$label, $m: no stale read") or diag($r->{first_stale});
        note(sprintf('%s, %s: reads served by r1 %d, r2 %d, primary %d of %d; read latency p50 %.2f ms, '
                     . 'p99 %.2f ms, max %.2f ms', $label, $m, $served{r1}, $served{r2},
                     $n - $served{r1} - $served{r2}, $n, map { $_ // -1 } @$r{qw(p50_ms p99_ms max_ms)}));
        $where->($m, \%served, $n, $r);
    }
}

sub most_on_replicas {
    my ($label) = @_;
    return sub {
        my ($m, $served, $n) = @_;
        my $on = $served->{r1} + $served->{r2};
        cmp_ok($on, '>=', $n / 4, "$label, $m: at least a quarter of the read-backs are served by replicas "
               . '(USER_STATISTICS; a sanity floor: the 95% of DESIGN §6 is measured by t/bench/offload.pl)')
            or diag("replicas served $on of $n reads (r1 $served->{r1}, r2 $served->{r2})");
    };
}

phase('replicas running', 300, 20, most_on_replicas('replicas running'));

$r1->stop_sql_thread;
phase("r1's SQL thread stopped", 1000, 25, sub {
    my ($m, $served, $n) = @_;
    is($served->{r1}, 0, "r1's SQL thread stopped, $m: r1 (which has none of the writes) serves no read");
    cmp_ok($served->{r2}, '>=', $n / 4, "r1's SQL thread stopped, $m: r2 still serves at least a quarter of the reads")
        or diag("r2 served $served->{r2} of $n");
});

$r2->stop_sql_thread;
phase('both SQL threads stopped', 1000, 30, sub {
    my ($m, $served, $n, $r) = @_;
    is($served->{r1} + $served->{r2}, 0, "both SQL threads stopped, $m: no read is served by a replica");
    cmp_ok($r->{max_ms} // 1e9, "<", 2000, "both SQL threads stopped, $m: the wait for a replica is bounded "
           . '(every read answered within 2 s; causal_wait_ms = 10)');
});

$_->start_sql_thread for $r1, $r2;
ok($topo->wait_for_replicas(30), 'replicas catch up after START SLAVE SQL_THREAD');
phase('replicas restarted', 300, 20, most_on_replicas('replicas restarted'));

# causewayd's own view, for the log only (the assertions above stand on the servers' counters).
for my $m (@MODES) {
    my $ctl = $t->run([dirname(Causeway::Proxy::binary()) . '/causewayctl', '-c', $cw{$m}->cnf, '--json', 'counters'],
                      timeout => 10);
    my $j = $ctl->{exit} == 0 ? eval { JSON::PP::decode_json($ctl->{out}) } : undef;
    my %routed = %{ ($j && $j->{total} && $j->{total}{routed}) || {} };
    note("$m: causewayctl counters: " . (%routed ? join(', ', map { "$_ $routed{$_}" } grep { $routed{$_} } sort keys %routed)
                                                 : "exit $ctl->{exit} $ctl->{err}"));
}

$t->log_is_clean($cw{$_}, $_) for @MODES;
$t->done;
