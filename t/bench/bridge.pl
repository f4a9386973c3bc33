#!/usr/bin/perl
# The bridge benchmark (DESIGN.md §6, issue 2 item 11): Causeway in mode = bridge against the
# primary itself and against HAProxy relaying raw TCP, in one run on one machine. It starts
# its own topology (primary + 2 GTID replicas), HAProxy and causewayd on free 127.0.0.1 ports,
# runs sysbench oltp_point_select (prepared and text protocol, 1 and 8 threads) through each,
# interleaved so that drift hits all three alike, charges each proxy's CPU time to the
# queries it forwarded, measures memory per idle client connection, and prints a Markdown
# report (also written to t/bench/results/bridge.md). It measures; it does not fail on a
# missed target (exit 0), only on a broken run (exit 1).
#
# Environment: BENCH_TIME (s per sysbench run, 10), BENCH_ROUNDS (1; >1 reports medians),
# BENCH_THREADS ("1 8"), BENCH_PROTOCOLS ("ps text"), BENCH_ROWS (10000), BENCH_IDLE (2000
# idle clients; 0 skips), BENCH_WARMUP (s, 2), BENCH_PERF (1: perf record the workers during
# one extra 8-thread run, report in t/bench/results/bridge-perf.txt), BENCH_RETRIES (4: a
# failed sysbench run is repeated and listed in the report), BENCH_OUT (report
# path; empty: stdout only), BENCH_KEEP (1: keep the scratch dir), BENCH_LABEL (a note for
# the report's versions line, e.g. which commit CAUSEWAY_BIN was built from), CAUSEWAY_BIN.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib", $FindBin::Bin;
use POSIX qw(strftime :sys_wait_h);
use Time::HiRes qw(time sleep);
use File::Path qw(make_path remove_tree);
use File::Basename qw(dirname);
use Causeway::Util qw(repo_root children_of proc_alive spit slurp run_cmd spawn reap wait_until);
use Causeway::Server;
use Causeway::Topology;
use Causeway::Proxy;
use HAProxyRelay;
use Sysbench;
use IdleClients;
use ProcUsage qw(clock_ticks cpu_ticks snapshot);

$| = 1;
my $ROOT = repo_root();
chdir $ROOT or die "chdir $ROOT: $!";

sub env_num {
    my ($name, $default) = @_;
    my $v = $ENV{$name};
    return $default unless defined $v && length $v;
    die "$name must be a number, not '$v'\n" unless $v =~ /^\d+(?:\.\d+)?$/;
    return $v;
}

my %opt = (
    time      => env_num('BENCH_TIME', 10),
    rounds    => env_num('BENCH_ROUNDS', 1),
    rows      => env_num('BENCH_ROWS', 10000),
    idle      => env_num('BENCH_IDLE', 2000),
    warmup    => env_num('BENCH_WARMUP', 2),
    perf      => $ENV{BENCH_PERF} ? 1 : 0,
    retries   => env_num('BENCH_RETRIES', 4),
    threads   => [split ' ', $ENV{BENCH_THREADS} // '1 8'],
    protocols => [split ' ', $ENV{BENCH_PROTOCOLS} // 'ps text'],
    out       => $ENV{BENCH_OUT} // "$ROOT/t/bench/results/bridge.md",
);
die "BENCH_THREADS: numbers only\n" if grep { !/^\d+$/ } @{ $opt{threads} };
die "BENCH_PROTOCOLS: ps and/or text\n" if grep { !/^(?:ps|text)$/ } @{ $opt{protocols} };
die "BENCH_TIME must be at least 1\n" if $opt{time} < 1;

my @TARGETS = qw(direct haproxy causeway);
my %PROTO_NAME = (ps => 'prepared', text => 'text');

# Whole-run time bound: every sysbench run, warm-ups, the idle tests, start and stop.
my $cells = $opt{rounds} * @{ $opt{threads} } * @{ $opt{protocols} } * @TARGETS;
my $budget = int($cells * (1 + $opt{retries}) * ($opt{time} + 8) + 3 * ($opt{warmup} + 8) + 3 * 180
                 + ($opt{perf} ? $opt{time} + 120 : 0) + 300);
$SIG{ALRM} = sub { die "bench: time budget of ${budget} s exhausted\n" };
alarm $budget;
$SIG{INT} = $SIG{TERM} = sub { die "bench: interrupted by signal\n" };
$SIG{PIPE} = 'IGNORE';

# The scratch dir is outside the shared t/tmp/, which other sessions' test runs clean up.
my $dir = ($ENV{TMPDIR} || '/tmp') . "/causeway-bench-$$";
remove_tree($dir);
make_path($dir);
my ($topo, $haproxy, $cw);
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

# Stops what we started (by pid) and removes the scratch dir (kept with BENCH_KEEP=1).
# After a failure the logs' tails go to stderr first, since the dir goes.
sub cleanup {
    if (!$finished) {
        for my $f ("$dir/causeway.log", "$dir/haproxy.log") {
            my @l = split /\n/, slurp($f) // next;
            splice(@l, 0, @l - 15) if @l > 15;
            warn "--- tail of $f\n" . join("\n", @l) . "\n" if @l;
        }
    }
    if ($cw && $cw->pid) {
        my $r = $cw->stop(timeout => 10);
        warn "causewayd did not exit cleanly on SIGTERM\n" unless $r->{exited} && !$r->{exit_code};
        $cw->kill_all;
    }
    if ($haproxy) { $haproxy->stop; $haproxy->kill_all }
    if ($topo) {
        eval { $topo->stop; 1 } or warn "topology stop: $@";
        $topo->kill_all;
    }
    ($cw, $haproxy, $topo) = ();
    return unless -d $dir;
    if ($ENV{BENCH_KEEP}) { warn "bench: kept $dir\n" }
    else { remove_tree($dir) }
}

# ---- start everything ------------------------------------------------------------------

my $nofile = `sh -c 'ulimit -n'`;
chomp $nofile;
if ($opt{idle} && $nofile ne 'unlimited' && $nofile < $opt{idle} + 200) {
    log_line("open-file limit $nofile is too low for $opt{idle} idle clients; raise `ulimit -n` "
             . "(t/bench/run does); measuring with fewer");
    $opt{idle} = $nofile > 300 ? $nofile - 200 : 0;
}

die "bin/causewayd (or CAUSEWAY_BIN) does not run: make all first\n" unless Causeway::Proxy::binary_works();

# Other work on this machine shows up as noise: the load average goes into the report.
sub loadavg { my $l = slurp('/proc/loadavg') // ''; return join(' ', (split ' ', $l)[0 .. 2]) }
my $load_before = loadavg();
my $rev_at_start = git_rev();

my $t0 = time;
log_line("starting the topology in $dir (load average $load_before)");
$topo = Causeway::Topology->new(dir => $dir, replicas => 2, flush_log => 2,
    primary_extra => { max_connections => $opt{idle} + 500, max_prepared_stmt_count => 100000 });
$topo->start;
my $primary = $topo->primary;
log_line(sprintf('topology up in %.1f s: primary %d, replicas %s', time - $t0, $primary->port,
                 join(' ', map { $_->port } $topo->replicas)));

log_line("sysbench prepare: 1 table of $opt{rows} rows");
Sysbench::prepare(port => $primary->port, rows => $opt{rows}, dir => $dir);
$topo->wait_for_replicas(60) or log_line('warning: replicas did not catch up after prepare');

$haproxy = HAProxyRelay->new(dir => $dir, server => $primary->address, maxconn => $opt{idle} + 1000);
$haproxy->start;
log_line('haproxy ' . HAProxyRelay::version() . ' pid ' . $haproxy->pid . ' on port ' . $haproxy->port);

# A fresh causewayd for each idle-memory case and for the sysbench runs: memory that one
# case's clients freed would otherwise be reused by the next and hide its cost.
my ($cw_pid, @cw_pids_at_start);
sub start_causeway {
    if ($cw) {
        my $r = $cw->stop(timeout => 10);
        die "causewayd did not exit cleanly on SIGTERM\n" unless $r->{exited} && !$r->{exit_code};
    }
    $cw = Causeway::Proxy->new(dir => $dir, topology => $topo, config => {
        causeway => { workers => 2, mode => 'bridge', max_connections => $opt{idle} + 1000 } });
    {
        # Causeway::Proxy::start compares `$self->children` (a sort in scalar context, so
        # undef) with the worker count: a harmless bounded wait that warns every 20 ms.
        local $SIG{__WARN__} = sub { warn @_ unless $_[0] =~ /uninitialized value in numeric ge .*Proxy\.pm/ };
        $cw->start;
    }
    $cw_pid = $cw->pid;
    # The supervisor listens before its children are up: wait until at least the workers
    # run and the set of children has not changed for a second.
    my ($last, $since) = ('', time);
    wait_until(sub {
        my @kids = $cw->children;
        my $now = "@kids";
        ($last, $since) = ($now, time) if $now ne $last;
        return @kids >= 2 && time - $since >= 1;
    }, timeout => 15, interval => 0.1) or log_line('warning: causewayd children not settled: ' . $last);
    @cw_pids_at_start = ($cw_pid, $cw->children);
    log_line("causewayd pid $cw_pid (children @cw_pids_at_start[1..$#cw_pids_at_start]) on port " . $cw->port);
}
start_causeway();

my %target = (
    direct   => { port => $primary->port, pids => sub { () } },
    haproxy  => { port => $haproxy->port, pids => sub { ($haproxy->pid) } },
    causeway => { port => sub { $cw->port }, pids => sub { ($cw_pid, children_of($cw_pid)) } },
);
sub port_of { my $p = $target{$_[0]}{port}; return ref $p ? $p->() : $p }

# ---- memory per idle client connection (fresh processes: before any sysbench) ----------

my @idle;
sub idle_memory {
    my ($label, $t, %o) = @_;
    my @pids = $target{$t}{pids}->();
    # One client first, so that once-per-process allocations are not charged to the 2,000.
    my $warm = IdleClients::open_clients(port => port_of($t), count => 2, db => $o{db}, timeout => 20);
    IdleClients::close_clients($warm->{clients});
    sleep 0.3;
    my $before = snapshot(@pids);
    # A few failed logins (each one is reported) do not void the measurement.
    my $c = IdleClients::open_clients(port => port_of($t), count => $opt{idle}, db => $o{db},
                                      timeout => 180, max_failures => 10);
    sleep 1;
    my $after = snapshot(@pids);
    my $alive = grep { proc_alive($_) } @pids;
    IdleClients::close_clients($c->{clients});
    sleep 1;   # let the proxy and the server see the clients go
    my $n = $c->{opened};
    my %r = (label => $label, target => $t, opened => $n, error => $c->{error}, failures => $c->{failures},
             seconds => $c->{seconds}, anon_before => $before->{anon_kb}, anon_after => $after->{anon_kb},
             rss_before => $before->{rss_kb}, rss_after => $after->{rss_kb},
             lost_process => $alive != @pids);
    if ($n) {
        $r{anon_per} = ($after->{anon_kb} - $before->{anon_kb}) / $n;
        $r{pss_per} = ($after->{pss_kb} - $before->{pss_kb}) / $n;
        $r{rss_per} = ($after->{rss_kb} - $before->{rss_kb}) / $n;
    }
    log_line(sprintf('idle %s: %d clients in %.1f s, anonymous Pss %d -> %d KiB (%.2f KiB each; Pss %.2f, RSS %.2f)%s',
                     $label, $n, $c->{seconds}, $before->{anon_kb}, $after->{anon_kb}, $r{anon_per} // 0,
                     $r{pss_per} // 0, $r{rss_per} // 0,
                     $c->{failures} ? " ($c->{failures} failed logins, first: $c->{error})" : ''));
    push @idle, \%r;
}

if ($opt{idle}) {
    idle_memory('causeway, logged in without a database (no backend connection yet)', 'causeway');
    start_causeway();
    idle_memory('causeway, logged in to database test (backend connection open)', 'causeway', db => 'test');
    idle_memory('haproxy, logged in to database test (server connection open)', 'haproxy', db => 'test');
    start_causeway();
}

# ---- sysbench, interleaved -----------------------------------------------------------------

my $hz = clock_ticks();
my %runs;          # "$proto/$threads/$target" => [result...]
my @failures;

sub measure {
    my ($t, $proto, $threads, $time) = @_;
    my @pids = $target{$t}{pids}->();
    my $srv0 = cpu_ticks($primary->pid);
    my @per_before = map { cpu_ticks($_) } @pids;
    my ($u0, $s0) = split_ticks(@pids);
    my $r = Sysbench::run(port => port_of($t), rows => $opt{rows}, threads => $threads,
                          time => $time, ps => $proto eq 'ps', dir => $dir);
    my ($u1, $s1) = split_ticks(@pids);
    my $srv1 = cpu_ticks($primary->pid);
    my @per_after = map { cpu_ticks($_) } @pids;
    my @pids_after = $target{$t}{pids}->();
    $r->{pids_changed} = "@pids" ne "@pids_after" ? 1 : 0;
    if ($r->{ok}) {
        my $per = 1e6 / $hz / $r->{queries};
        if (@pids) {
            $r->{cpu_us} = (($u1 - $u0) + ($s1 - $s0)) * $per;
            $r->{usr_us} = ($u1 - $u0) * $per;
            $r->{sys_us} = ($s1 - $s0) * $per;
        }
        $r->{server_us} = ($srv1 - $srv0) * $per;
        # How the proxy's CPU time split between its processes (causewayd: the supervisor
        # first, then the workers): shows whether the clients were spread over the workers.
        my @d = map { $per_after[$_] - $per_before[$_] } 0 .. $#pids;
        my $tot = 0;
        $tot += $_ for @d;
        if (@pids > 1) {
            my $roles = process_roles();
            $r->{split} = join(', ', map { sprintf('%s %.0f', $roles->{$pids[$_]} // "pid $pids[$_]",
                                                   $tot ? 100 * $d[$_] / $tot : 0) } 0 .. $#pids);
        }
    }
    return $r;
}

# pid => role ("supervisor", "worker 0", "poller", ...) from causewayd's log prefixes
# (`causeway[PID] [worker 0] ...`).
sub process_roles {
    my %role;
    for my $line (split /\n/, $cw->log_text) {
        $role{$1} = $2 if $line =~ /causeway\[(\d+)\] \[([^\]]+)\]/;
        # The supervisor names each child it starts: "started worker 0 (pid 123, ...".
        $role{$2} = $1 if $line =~ /started ((?:worker \d+|poller)) \(pid (\d+)/;
    }
    return \%role;
}

# (utime, stime) summed over @pids, in ticks.
sub split_ticks {
    my ($u, $s) = (0, 0);
    for my $pid (@_) {
        my $st = slurp("/proc/$pid/stat") // next;
        my @f = split ' ', substr($st, rindex($st, ')') + 1);
        $u += $f[11];
        $s += $f[12];
    }
    return ($u, $s);
}

# The first FATAL line of a failed sysbench run (or its output's tail), on one line.
sub sysbench_error {
    my ($r) = @_;
    my $all = "$r->{err}\n$r->{out}";
    my @fatal = grep { /FATAL: (?!`thread_init'|Thread initialization)/ } split /\n/, $all;
    my %seen;
    @fatal = grep { !$seen{$_}++ } @fatal;
    my $msg = @fatal ? join(' ', @fatal[0 .. ($#fatal < 1 ? $#fatal : 1)]) : substr($all, -200);
    $msg =~ s/\s+/ /g;
    return $msg;
}

if ($opt{warmup} > 0) {
    for my $t (@TARGETS) {
        my $r = measure($t, 'ps', 8, $opt{warmup});
        log_line("warm-up $t: " . ($r->{ok} ? sprintf('%.0f tps', $r->{tps}) : "FAILED (exit $r->{exit})"));
    }
}

my $cell = 0;
for my $round (1 .. $opt{rounds}) {
    for my $proto (@{ $opt{protocols} }) {
        for my $threads (@{ $opt{threads} }) {
            # Rotate the order so that no target always runs first (or right after another).
            my @order = map { $TARGETS[($_ + $cell) % @TARGETS] } 0 .. $#TARGETS;
            $cell++;
            for my $t (@order) {
                my $r;
                for my $try (0 .. $opt{retries}) {
                    $r = measure($t, $proto, $threads, $opt{time});
                    last if $r->{ok};
                    my $why = "round $round, $PROTO_NAME{$proto}, $threads threads, $t, try " . ($try + 1)
                            . ": sysbench exit $r->{exit}: " . sysbench_error($r);
                    push @failures, $why;
                    log_line("FAILED $why");
                }
                push @{ $runs{"$proto/$threads/$t"} }, $r;
                if ($r->{ok}) {
                    log_line(sprintf('round %d %-8s %2d thr %-8s %8.0f tps  p95 %.2f ms%s%s%s', $round,
                                     $PROTO_NAME{$proto}, $threads, $t, $r->{tps}, $r->{p95_ms} // -1,
                                     defined $r->{cpu_us} ? sprintf('  proxy %.1f us/q', $r->{cpu_us}) : '',
                                     $r->{split} ? "  CPU % $r->{split}" : '',
                                     $r->{pids_changed} ? '  (proxy processes changed!)' : ''));
                }
            }
        }
    }
}

# ---- optional profile ----------------------------------------------------------------------

my $perf_file;
if ($opt{perf}) {
    # Beside the report: t/bench/results/bridge.md -> t/bench/results/bridge-perf.txt.
    $perf_file = $opt{out} ? ($opt{out} =~ s/\.md$//r) . '-perf.txt' : "$ROOT/t/bench/results/bridge-perf.txt";
    profile_causeway($perf_file);
}

sub profile_causeway {
    my ($file) = @_;
    my @workers = children_of($cw_pid);
    my $data = "$dir/perf.data";
    my $pid = spawn(['timeout', '-k', '5', $opt{time} + 30, 'perf', 'record', '-e', 'cpu-clock', '-F', '1999',
                     '-g', '-o', $data, '-p', join(',', @workers), '--', 'sleep', $opt{time}],
                    stdout => "$dir/perf.log", stderr => "$dir/perf.log");
    sleep 0.5;
    my $r = measure('causeway', 'ps', 8, $opt{time});
    reap($pid, $opt{time} + 40);
    my @report = ('perf', 'report', '-i', $data, '--stdio');
    my $dso = run_cmd([@report, '--no-children', '--sort', 'dso', '-g', 'none'], dir => $dir, timeout => 120);
    # Without a PMU (virtual machines) cpu-clock samples in the kernel land where interrupts
    # are re-enabled, so self time per kernel symbol misleads; inclusive time per system
    # call entry point does not.
    my $incl = run_cmd([@report, '--children', '--sort', 'dso,symbol', '-g', 'none', '--percent-limit', '1'],
                       dir => $dir, timeout => 120);
    my $self = run_cmd([@report, '--no-children', '--sort', 'dso,symbol', '-g', 'none', '--percent-limit', '0.2'],
                       dir => $dir, timeout => 120);
    my $strip = sub {
        join("\n", map { s/(?:\s+-)*\s*$//r } grep { !/^#/ && /\S/ } split /\n/, $_[0]{out} . $_[0]{err}) . "\n";
    };
    $self->{out} = join("\n", grep { !/\[kernel/ } split /\n/, $self->{out});
    my $text = "# perf record -e cpu-clock -F 1999 -g of causewayd's children (workers and poller: @workers) during sysbench "
             . "oltp_point_select, prepared, 8 threads, $opt{time} s through Causeway\n"
             . sprintf("# that run: %.0f tps, causewayd %.1f us/query (user %.1f, sys %.1f), CPU %% %s\n\n",
                       $r->{tps} // 0, $r->{cpu_us} // 0, $r->{usr_us} // 0, $r->{sys_us} // 0, $r->{split} // '?')
             . "## samples by library\n\n" . $strip->($dso)
             . "\n## inclusive time (children) by symbol, >= 1%\n\n" . $strip->($incl)
             . "\n## self time in user space (causewayd, libevent, libc), >= 0.2%\n\n" . $strip->($self);
    make_path(dirname($file));
    spit($file, $text);
    log_line("perf profile written to $file");
}

# ---- report ------------------------------------------------------------------------------

sub median {
    my @v = sort { $a <=> $b } grep { defined } @_;
    return undef unless @v;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

sub cell_stat {
    my ($proto, $threads, $t, $field) = @_;
    my @ok = grep { $_->{ok} } @{ $runs{"$proto/$threads/$t"} // [] };
    return median(map { $_->{$field} } @ok);
}

sub fmt { my ($f, $v) = @_; return defined $v ? sprintf($f, $v) : 'n/a' }

sub cpu_model {
    my $c = slurp('/proc/cpuinfo') // '';
    return $c =~ /^model name\s*:\s*(.+)$/m ? $1 : 'unknown';
}

# The checkout's commit, "-dirty" when tracked files differ from it (read at start).
sub git_rev {
    my $rev = `git -C $ROOT rev-parse --short HEAD 2>/dev/null`;
    chomp $rev;
    return 'unknown' unless $rev;
    my $dirty = `git -C $ROOT status --porcelain --untracked-files=no 2>/dev/null`;
    return $rev . ($dirty =~ /\S/ ? '-dirty' : '');
}

my $cw_version = `@{[Causeway::Proxy::binary()]} -V 2>&1`;
chomp $cw_version;
my $nproc = `nproc`;
chomp $nproc;
my $kernel = `uname -r`;
chomp $kernel;
my $mem_gib = ((slurp('/proc/meminfo') // '') =~ /^MemTotal:\s+(\d+)/m) ? sprintf('%.0f GiB', $1 / 1048576) : '?';

my @md;
push @md, '# Causeway bridge benchmark', '';
push @md, sprintf('- date: %s', strftime('%Y-%m-%d %H:%M:%S %Z', localtime));
push @md, sprintf('- machine: %s CPUs (nproc), %s, %s RAM, Linux %s', $nproc, cpu_model(), $mem_gib, $kernel);
push @md, sprintf('- versions: %s (%s%s), MariaDB %s, HAProxy %s, sysbench %s', $cw_version,
                  $ENV{CAUSEWAY_BIN} ? "binary $ENV{CAUSEWAY_BIN}; checkout at git $rev_at_start" : "git $rev_at_start",
                  $ENV{BENCH_LABEL} ? "; $ENV{BENCH_LABEL}" : '', Causeway::Server::mariadbd_version(),
                  HAProxyRelay::version(), Sysbench::version());
push @md, sprintf('- setup: primary + 2 GTID replicas on 127.0.0.1, innodb_flush_log_at_trx_commit=2; '
                  . 'HAProxy `mode tcp` (default threads); causewayd mode = bridge, workers = 2');
push @md, sprintf('- load: sysbench oltp_point_select, 1 table of %d rows, %s s per run, %d round%s%s, '
                  . 'targets interleaved (order rotated per cell)', $opt{rows}, $opt{time}, $opt{rounds},
                  $opt{rounds} > 1 ? 's' : '', $opt{rounds} > 1 ? ' (medians)' : '');
push @md, sprintf('- load average (1, 5, 15 min) at start: %s; at end: %s (other work on this machine '
                  . 'slows every path; the interleaving spreads it over all three)', $load_before, loadavg());
push @md, '- proxy CPU = utime + stime of the proxy process (causewayd: supervisor and all its children) '
        . 'over the run, divided by the queries sysbench reports; mariadbd likewise';
push @md, '';
push @md, '## sysbench oltp_point_select', '';
push @md, '| protocol | threads | path | tps | p95 ms | tps / direct | p95 / direct | proxy CPU µs/query (user + sys) | mariadbd CPU µs/query |';
push @md, '|---|---:|---|---:|---:|---:|---:|---:|---:|';
for my $proto (@{ $opt{protocols} }) {
    for my $threads (@{ $opt{threads} }) {
        my $dtps = cell_stat($proto, $threads, 'direct', 'tps');
        my $dp95 = cell_stat($proto, $threads, 'direct', 'p95_ms');
        for my $t (@TARGETS) {
            my $tps = cell_stat($proto, $threads, $t, 'tps');
            my $p95 = cell_stat($proto, $threads, $t, 'p95_ms');
            my $cpu = cell_stat($proto, $threads, $t, 'cpu_us');
            my $usr = cell_stat($proto, $threads, $t, 'usr_us');
            my $sys = cell_stat($proto, $threads, $t, 'sys_us');
            my $srv = cell_stat($proto, $threads, $t, 'server_us');
            push @md, sprintf('| %s | %d | %s | %s | %s | %s | %s | %s | %s |', $PROTO_NAME{$proto}, $threads, $t,
                fmt('%.0f', $tps), fmt('%.2f', $p95),
                ($tps && $dtps) ? sprintf('%.2f', $tps / $dtps) : 'n/a',
                ($p95 && $dp95) ? sprintf('%.2f', $p95 / $dp95) : 'n/a',
                $t eq 'direct' ? '—' : defined $cpu ? sprintf('%.1f (%.1f + %.1f)', $cpu, $usr, $sys) : 'n/a',
                fmt('%.1f', $srv));
        }
    }
}
push @md, '';

my @splits;
for my $proto (@{ $opt{protocols} }) {
    for my $threads (@{ $opt{threads} }) {
        my @sp = map { $_->{split} } grep { $_->{ok} && $_->{split} } @{ $runs{"$proto/$threads/causeway"} // [] };
        push @splits, sprintf('| %s | %d | %s |', $PROTO_NAME{$proto}, $threads, join('; ', @sp)) if @sp;
    }
}
if (@splits) {
    push @md, '### How causewayd\'s CPU time split between its processes (%, one entry per run)', '';
    push @md, 'A lopsided split between the workers means the kernel handed most client connections to one of them.', '';
    push @md, '| protocol | threads | split |', '|---|---:|---|', @splits, '';
}

if (@idle) {
    push @md, "## Memory per idle client connection ($opt{idle} clients)", '';
    push @md, 'Memory of the proxy\'s processes (causewayd: supervisor, workers, poller) before and after '
            . 'opening the clients (logged in with mysql_native_password, then idle), divided by the clients '
            . 'opened. The per-connection figure is anonymous memory in Pss terms (`Pss_Anon` of '
            . '/proc/PID/smaps_rollup: heap and stacks, where connection state lives); total Pss and RSS '
            . 'also move with the shared memory segment and mapped files that other processes touch or the '
            . 'kernel drops. Kernel socket buffers are not included.', '';
    push @md, '| proxy, clients | opened | anon Pss before KiB | anon Pss after KiB | **per connection KiB** | Pss per connection KiB | RSS per connection KiB |';
    push @md, '|---|---:|---:|---:|---:|---:|---:|';
    for my $r (@idle) {
        push @md, sprintf('| %s | %d%s | %d | %d | **%s** | %s | %s |', $r->{label}, $r->{opened},
            $r->{failures} ? " ($r->{failures} failed logins, first: $r->{error})" : '', $r->{anon_before},
            $r->{anon_after}, fmt('%.2f', $r->{anon_per}), fmt('%.2f', $r->{pss_per}), fmt('%.2f', $r->{rss_per}));
    }
    push @md, '';
}

# Targets (DESIGN.md §6).
push @md, '## Targets (DESIGN.md §6)', '';
push @md, '| target | goal | measured | met |';
push @md, '|---|---|---|---|';
my $big = (sort { $b <=> $a } @{ $opt{threads} })[0];
for my $proto (@{ $opt{protocols} }) {
    my $c = cell_stat($proto, $big, 'causeway', 'tps');
    my $h = cell_stat($proto, $big, 'haproxy', 'tps');
    my $d = cell_stat($proto, $big, 'direct', 'tps');
    push @md, sprintf('| point_select %s, %d threads, throughput | ≥ HAProxy tcp relay | causeway %s of direct, haproxy %s (causeway / haproxy %s) | %s |',
        $PROTO_NAME{$proto}, $big, ($c && $d) ? sprintf('%.2f', $c / $d) : 'n/a',
        ($h && $d) ? sprintf('%.2f', $h / $d) : 'n/a', ($c && $h) ? sprintf('%.2f', $c / $h) : 'n/a',
        ($c && $h) ? ($c >= $h ? 'yes' : 'no') : 'n/a');
    my $cc = cell_stat($proto, $big, 'causeway', 'cpu_us');
    my $hc = cell_stat($proto, $big, 'haproxy', 'cpu_us');
    push @md, sprintf('| proxy CPU per forwarded query, %s, %d threads | ≤ 18 µs | causeway %s µs, haproxy %s µs | %s |',
        $PROTO_NAME{$proto}, $big, fmt('%.1f', $cc), fmt('%.1f', $hc), defined $cc ? ($cc <= 18 ? 'yes' : 'no') : 'n/a');
}
for my $r (grep { $_->{target} eq 'causeway' } @idle) {
    # Fewer than half the clients opened: too few to measure (the reason is in the table above).
    my $enough = $r->{opened} >= $opt{idle} / 2 && defined $r->{anon_per};
    push @md, sprintf('| memory per idle client (%s) | ≤ 8 KiB | %s | %s |', $r->{label} =~ /without/ ? 'no backend yet' : 'backend open',
        $enough ? sprintf('%.2f KiB', $r->{anon_per}) : "only $r->{opened} of $opt{idle} clients logged in",
        $enough ? ($r->{anon_per} <= 8 ? 'yes' : 'no') : 'n/a');
}
push @md, '';
if (@failures) {
    push @md, '## Failed sysbench runs (each retried up to ' . $opt{retries} . ' times; the table uses the runs that succeeded)', '';
    push @md, map { "- $_" } @failures;
    push @md, '';
}
push @md, 'Profile of the causewayd workers: ' . ($perf_file =~ s{^\Q$ROOT/\E}{}r), '' if $perf_file;
push @md, sprintf('Bench wall time: %.0f s (BENCH_TIME=%s, BENCH_ROUNDS=%s).', time - $t0, $opt{time}, $opt{rounds}), '';

my $report = join("\n", @md);
print $report;
if ($opt{out}) {
    make_path(dirname($opt{out}));
    spit($opt{out}, $report);
    log_line("report written to $opt{out}");
}

# Every causewayd process we started must still be the same (no crash, no respawn).
my @now = ($cw_pid, children_of($cw_pid));
log_line("warning: causewayd processes changed during the bench: @cw_pids_at_start -> @now")
    if "@now" ne "@cw_pids_at_start";
my @bad = $cw->bad_log_lines;
log_line("warning: causewayd logged:\n" . join("\n", @bad)) if @bad;

alarm 0;
$finished = 1;
cleanup();
# A broken run (a cell without any successful sysbench run) exits 1; retried failures do not.
my $missing = grep { !grep { $_->{ok} } @$_ } values %runs;
exit($missing ? 1 : 0);
