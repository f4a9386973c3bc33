#!/usr/bin/perl
# How long after a replica applies a write the replica-progress block shows it (issue 3 item 8),
# at [monitor] poll_interval_ms = 1 and = 10. It starts its own topology (primary + 2 GTID
# replicas) and, per interval, a causewayd (mode = smartscale) on free 127.0.0.1 ports. Per
# write, alternating between the replicas: a side connection to the replica sends
# SELECT MASTER_GTID_WAIT('<next gtid>', 5) (asynchronously, before the write, so that it is
# waiting when the write arrives) and bin/progress_watch_bench (the segment mapped read-only,
# as a worker sees it) starts watching that replica's entry; then the write runs on the primary
# through a direct connection and SELECT @@last_gtid confirms the GTID. t_applied is
# CLOCK_MONOTONIC when the wait's answer is readable, t_seen the watcher's CLOCK_MONOTONIC when
# the entry first covers the GTID; the delay is t_seen - t_applied (negative when the poll
# raced the wait's answer). Prints a Markdown report and appends it to
# t/bench/results/progress.md. Aim: p50 <= 1 ms at poll_interval_ms = 1. Exits 0 unless the
# run broke (a missed aim is in the report).
#
# Environment: PROGRESS_WRITES (measured writes per interval, 300), PROGRESS_INTERVALS
# ("1 10"), PROGRESS_OUT (report file; empty: stdout only), BENCH_KEEP (1: keep the scratch
# dir), CAUSEWAY_BIN.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use DBI;
use IO::Handle;
use IO::Select;
use IPC::Open2 qw(open2);
use POSIX qw(strftime ceil);
use Time::HiRes qw(time sleep clock_gettime CLOCK_MONOTONIC);
use File::Path qw(make_path remove_tree);
use Causeway::Util qw(repo_root slurp reap proc_alive);
use Causeway::Server;
use Causeway::Topology;
use Causeway::Proxy;

$| = 1;
my $ROOT = repo_root();
chdir $ROOT or die "chdir $ROOT: $!";

sub env_num {
    my ($name, $default) = @_;
    my $v = $ENV{$name};
    return $default unless defined $v && length $v;
    die "$name must be a whole number, not '$v'\n" unless $v =~ /^\d+$/;
    return $v;
}
my $writes = env_num('PROGRESS_WRITES', 300);
die "PROGRESS_WRITES must be at least 1\n" if $writes < 1;
my @intervals = split ' ', $ENV{PROGRESS_INTERVALS} // '1 10';
die "PROGRESS_INTERVALS: whole numbers from 1 to 1000\n" if grep { !/^\d+$/ || $_ < 1 || $_ > 1000 } @intervals;
my $out_file = $ENV{PROGRESS_OUT} // "$ROOT/t/bench/results/progress.md";
my $watcher_bin = "$ROOT/bin/progress_watch_bench";
my $warmup = 20;    # unmeasured writes per interval

# Whole-run bound: the topology, and per interval a causewayd and the writes, each of which
# waits at most 5 s (MASTER_GTID_WAIT) but normally takes a few ms.
my $budget = 110;
$SIG{ALRM} = sub { die "progress_delay: time budget of $budget s exhausted\n" };
alarm $budget;
$SIG{INT} = $SIG{TERM} = sub { die "progress_delay: interrupted by signal\n" };
$SIG{PIPE} = 'IGNORE';

die "$watcher_bin is missing: make bin/progress_watch_bench\n" unless -x $watcher_bin;
die "bin/causewayd (or CAUSEWAY_BIN) does not run: make all first\n" unless Causeway::Proxy::binary_works();

# Outside the shared t/tmp/, which other sessions' test runs clean up.
my $dir = ($ENV{TMPDIR} || '/tmp') . "/causeway-progress-$$";
remove_tree($dir);
make_path($dir);
my ($topo, $cw, $watcher);
my $owner = $$;
my $finished = 0;

sub log_line { printf STDERR "[%s] %s\n", strftime('%H:%M:%S', localtime), join('', @_) }

END {
    if ($$ == $owner) {
        my $code = $?;
        eval { cleanup(); 1 } or warn "cleanup: $@";
        $? = $code;
    }
}

sub stop_watcher {
    return unless $watcher;
    my $w = $watcher;
    $watcher = undef;
    print { $w->{in} } "quit\n";
    close $w->{in};
    close $w->{out};
    unless (defined reap($w->{pid}, 5)) { kill 'KILL', $w->{pid}; reap($w->{pid}, 5) }
}

sub stop_causeway {
    return unless $cw;
    my $c = $cw;
    $cw = undef;
    my $r = $c->stop(timeout => 10);
    warn "causewayd did not exit cleanly on SIGTERM\n" unless $r->{exited} && !$r->{exit_code};
    $c->kill_all;
}

# Stops what we started (by pid) and removes the scratch dir (kept with BENCH_KEEP=1).
sub cleanup {
    if (!$finished && $cw) {
        my @l = split /\n/, slurp($cw->log) // '';
        splice(@l, 0, @l - 15) if @l > 15;
        warn "--- tail of " . $cw->log . "\n" . join("\n", @l) . "\n" if @l;
    }
    stop_watcher();
    stop_causeway();
    if ($topo) {
        eval { $topo->stop; 1 } or warn "topology stop: $@";
        $topo->kill_all;
        $topo = undef;
    }
    return unless -d $dir;
    if ($ENV{BENCH_KEEP}) { warn "progress_delay: kept $dir\n" }
    else { remove_tree($dir) }
}

sub now_ns { return int(clock_gettime(CLOCK_MONOTONIC) * 1e9) }

# One line from the watcher (it always answers within its own time-out).
sub watcher_line {
    my $line = readline($watcher->{out});
    die "progress_watch_bench exited\n" unless defined $line;
    chomp $line;
    die "progress_watch_bench: $line\n" if $line =~ /^error/;
    return $line;
}

sub start_watcher {
    my ($shm) = @_;
    my ($out, $in);
    my $pid = open2($out, $in, $watcher_bin, $shm);
    $in->autoflush(1);
    $watcher = { pid => $pid, in => $in, out => $out };
    my $l = watcher_line();
    die "progress_watch_bench: expected ready, got '$l'\n" unless $l eq 'ready';
}

sub connect_socket {
    my ($srv) = @_;
    return DBI->connect("DBI:MariaDB:mariadb_socket=" . $srv->socket . ";database=test", 'root', '',
                        { RaiseError => 1, PrintError => 0, AutoCommit => 1 });
}

sub seqno0 { my ($pos) = @_; return ($pos // '') =~ /(?:^|,)0-\d+-(\d+)/ ? $1 : die "no domain 0 in '$pos'\n" }

sub percentile {
    my ($q, @sorted) = @_;
    return undef unless @sorted;
    my $i = ceil($q * @sorted) - 1;
    $i = 0 if $i < 0;
    return $sorted[$i];
}

sub ms { my ($ns) = @_; return defined $ns ? sprintf('%.3f', $ns / 1e6) : '-' }

# ---- start ---------------------------------------------------------------------------------

sub loadavg { my $l = slurp('/proc/loadavg') // ''; return join(' ', (split ' ', $l)[0 .. 2]) }
my $load_before = loadavg();
my $t0 = time;
log_line("starting the topology in $dir (load average $load_before)");
$topo = Causeway::Topology->new(dir => $dir, replicas => 2, flush_log => 2);
$topo->start;
my $primary = $topo->primary;
my @replicas = $topo->replicas;
log_line(sprintf('topology up in %.1f s: primary %d, replicas %s', time - $t0, $primary->port,
                 join(' ', map { $_->port } @replicas)));

my $pdbh = connect_socket($primary);
$pdbh->do('CREATE TABLE test.progress (id INT AUTO_INCREMENT PRIMARY KEY, v INT)');
$topo->wait_for_replicas(30) or die "replicas did not catch up after CREATE TABLE\n";
my @wdbh = map { connect_socket($_) } @replicas;    # the side connections, one per replica
my $server_id = $primary->server_id;

# One write, watched on replica $r (0-based; progress index $r + 1). Returns the delay in ns,
# the round trip of the poll that showed it, how long before t_seen that poll's answer arrived,
# the entry's poll count and t_seen.
my $seq = seqno0($pdbh->selectrow_array('SELECT @@gtid_binlog_pos'));
sub one_write {
    my ($r, $v, $interval) = @_;
    # A random pause of up to one poll interval: otherwise each write would start at the same
    # point of the poll cycle (right after the poll that showed the previous one) and the
    # delays would measure that phase, not the poller.
    sleep(rand($interval) / 1000);
    my $gtid = "0-$server_id-" . ($seq + 1);
    my $w = $wdbh[$r];
    my $sth = $w->prepare('SELECT MASTER_GTID_WAIT(?, 5)', { mariadb_async => 1 });
    $sth->execute($gtid);
    print { $watcher->{in} } ($r + 1) . " $gtid 6000\n";
    sleep 0.001;    # the wait is registered on the replica before the write can arrive there
    $pdbh->do('INSERT INTO test.progress (v) VALUES (?)', undef, $v);
    my ($last) = $pdbh->selectrow_array('SELECT @@last_gtid');
    die "the write got GTID $last, not $gtid: someone else writes to the primary\n" unless $last eq $gtid;
    $seq++;
    my $sel = IO::Select->new($w->mariadb_sockfd);
    my $ready = $sel->can_read(6);
    my $t_applied = now_ns();
    die "MASTER_GTID_WAIT('$gtid') did not answer within 6 s\n" unless $ready;
    $sth->mariadb_async_result;
    my ($rc) = $sth->fetchrow_array;
    $sth->finish;
    my $seen = watcher_line();
    die "replica r" . ($r + 1) . " did not apply $gtid within 5 s (MASTER_GTID_WAIT = $rc)\n" unless $rc == 0;
    die "the progress block did not show $gtid within 6 s: $seen\n" unless $seen =~ /^seen (\d+) (\d+) (\d+) (\d+)$/;
    return ($1 - $t_applied, $3, $1 - $2, $4, $1);
}

# ---- measure -------------------------------------------------------------------------------

my @rows;
for my $interval (@intervals) {
    $cw = Causeway::Proxy->new(dir => $dir, topology => $topo, name => "causeway-$interval",
        config => { causeway => { mode => 'smartscale', workers => 1 },
                    monitor => { poll_interval_ms => $interval } });
    $cw->start;
    start_watcher('/causeway-' . $cw->port);
    log_line("poll_interval_ms = $interval: causewayd pid " . $cw->pid . " on port " . $cw->port);
    # The poller is up once both replicas' entries show the current position.
    for my $r (0 .. $#replicas) {
        print { $watcher->{in} } ($r + 1) . " 0-$server_id-$seq 10000\n";
        my $l = watcher_line();
        die "the poller did not publish r" . ($r + 1) . " within 10 s: $l\n" unless $l =~ /^seen /;
    }
    one_write($_ % 2, $_, $interval) for 1 .. $warmup;
    my (@delay, @rtt, @answer_age, %polls);    # %polls: replica => [[count, ns] first, last]
    my $t1 = time;
    for my $i (1 .. $writes) {
        my ($d, $rtt, $age, $count, $at) = one_write($i % 2, $i, $interval);
        push @delay, $d;
        push @rtt, $rtt;
        push @answer_age, $age;
        $polls{ $i % 2 }[0] //= [$count, $at];
        $polls{ $i % 2 }[1] = [$count, $at];
    }
    my $secs = time - $t1;
    # Polls per second of each replica, from the entry's poll count (SHOW SLAVE STATUS included).
    my @rates;
    for my $k (sort keys %polls) {
        my ($f, $l) = @{ $polls{$k} };
        push @rates, ($l->[0] - $f->[0]) / (($l->[1] - $f->[1]) / 1e9) if $l->[1] > $f->[1];
    }
    stop_watcher();
    stop_causeway();
    my @s = sort { $a <=> $b } @delay;
    my @rs = sort { $a <=> $b } @rtt;
    my $mean = 0;
    $mean += $_ for @s;
    $mean /= @s;
    push @rows, { interval => $interval, n => scalar @s, min => $s[0], p50 => percentile(0.5, @s),
                  p90 => percentile(0.9, @s), p99 => percentile(0.99, @s), max => $s[-1], mean => $mean,
                  rtt50 => percentile(0.5, @rs), age50 => percentile(0.5, sort { $a <=> $b } @answer_age),
                  rate => @rates ? join(' / ', map { sprintf '%.0f', $_ } @rates) : '-',
                  negative => scalar(grep { $_ < 0 } @s), secs => $secs };
    log_line(sprintf('poll_interval_ms = %d: %d writes in %.1f s, p50 %s ms, p99 %s ms', $interval,
                     scalar @s, $secs, ms($rows[-1]{p50}), ms($rows[-1]{p99})));
}

# ---- report --------------------------------------------------------------------------------

my $git = `git rev-parse --short HEAD 2>/dev/null` // '';
chomp $git;
my $cpu = (grep { /^model name/ } split /\n/, slurp('/proc/cpuinfo') // '')[0] // '';
$cpu =~ s/^model name\s*:\s*//;
my $nproc = `nproc`;
chomp $nproc;
my $report = "## Replica progress delay\n\n"
    . '- date: ' . strftime('%Y-%m-%d %H:%M:%S UTC', gmtime) . ", git " . ($git || 'unknown') . "\n"
    . "- machine: $nproc CPUs, $cpu; load average before $load_before, after " . loadavg() . "\n"
    . '- mariadbd ' . Causeway::Server::mariadbd_version() . ", 127.0.0.1, primary + 2 replicas; causewayd "
    . "mode = smartscale, 1 worker (" . Causeway::Proxy::binary() . ")\n"
    . "- delay: CLOCK_MONOTONIC when the replica-progress block (mapped read-only, read every ~20 µs) first "
    . "covers a write's GTID, minus when that replica's MASTER_GTID_WAIT answer became readable (which "
    . "is a little after the apply itself: one loopback answer, so the delays are slightly low); "
    . "$writes writes per interval after $warmup unmeasured, alternating between the replicas\n"
    . "- poll rtt: the round trip of the poll that showed the write; answer to seen: from the poller's "
    . "answer stamp to the watcher seeing the entry (publish + watcher latency)\n\n"
    . "| poll_interval_ms | writes | p50 ms | p90 ms | p99 ms | max ms | mean ms | min ms | poll rtt p50 ms "
    . "| answer to seen p50 ms | polls/s r1 / r2 |\n"
    . "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
for my $r (@rows) {
    $report .= sprintf("| %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $r->{interval}, $r->{n},
                       ms($r->{p50}), ms($r->{p90}), ms($r->{p99}), ms($r->{max}), ms($r->{mean}), ms($r->{min}),
                       ms($r->{rtt50}), ms($r->{age50}), $r->{rate});
}
my ($one) = grep { $_->{interval} == 1 } @rows;
if ($one) {
    $report .= sprintf("\nAim p50 <= 1 ms at poll_interval_ms = 1: %s (p50 %s ms).\n",
                       $one->{p50} <= 1e6 ? 'met' : 'missed', ms($one->{p50}));
}
my @neg = grep { $_->{negative} } @rows;
$report .= "Negative delays (the poll raced the wait's answer): "
    . join(', ', map { "$_->{negative} at $_->{interval} ms" } @neg) . ".\n" if @neg;
$report .= "\n";
print $report;
if (length $out_file) {
    make_path($1) if $out_file =~ m{^(.*)/[^/]+$};
    open my $fh, '>>', $out_file or die "append $out_file: $!\n";
    print $fh $report;
    close $fh or die "close $out_file: $!\n";
    log_line("report appended to $out_file");
}
$finished = 1;
exit 0;
