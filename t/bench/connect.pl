#!/usr/bin/perl
# Connect-per-request clients (issue 12 item 5; DESIGN §6 "connect + one SELECT + close, PHP
# style"): 8 and 64 parallel clients, each looping connect / one primary-key SELECT / close
# for a fixed time, against the primary directly, through HAProxy's raw TCP relay
# (`mode tcp`), through Causeway with its backend pool off, and with it on (the default
# pool_max_idle_per_server = 16, and 64). The client is C (t/bench/connect_client.c,
# libmariadb: one thread per client, so the client side costs little). Per run:
# connections/s, p50/p99 of connect + SELECT + close, the proxy's CPU per client connection
# (causewayd and all its children; haproxy), and the servers' own Connections and
# Threads_created per client connection. Targets alternate within each round.
# Writes t/bench/results/connect.md.
#   perl t/bench/connect.pl   (BENCH_TIME=s per run, BENCH_ROUNDS=n, BENCH_CLIENTS="8 64")
use strict;
use warnings;
use lib 't/lib', 't/bench';
use POSIX qw(strftime);
use Causeway::Test;
use Causeway::Util qw(run_cmd);
use HAProxyRelay;
use ProcUsage qw(clock_ticks cpu_ticks);

my $time = $ENV{BENCH_TIME} // 8;
my $rounds = $ENV{BENCH_ROUNDS} // 1;
my @clients = split ' ', ($ENV{BENCH_CLIENTS} // '8 64');
my $t = Causeway::Test->new(name => 'bench-connect');
my $topo = $t->topology(flush_log => 2);
my $primary = $topo->primary;
$primary->sql($_) for ('CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)',
                       'INSERT INTO test.t SELECT seq, seq FROM test.seq_1_to_1000',
                       'SET GLOBAL max_connections = 1000');
$_->sql('SET GLOBAL max_connections = 1000') for $topo->replicas;
$topo->wait_for_replicas(30);
my $dir = $t->dir;
my $client = "$dir/connect_client";
my $cc = run_cmd(['sh', '-c', "cc -O2 -o $client t/bench/connect_client.c \$(pkg-config --cflags --libs libmariadb) -lpthread"]);
die "building the client: $cc->{err}\n" unless -x $client;

my $haproxy = HAProxyRelay->new(dir => $dir, server => $primary->address, maxconn => 4000);
$haproxy->start;
my %cw = (
    no_pool => $t->causeway(config => { causeway => { mode => 'smartscale', log_level => 'notice',
                                                      pool_max_idle_per_server => 0 } }),
    pool    => $t->causeway(config => { causeway => { mode => 'smartscale', log_level => 'notice' } }),
    pool64  => $t->causeway(config => { causeway => { mode => 'smartscale', log_level => 'notice',
                                                      pool_max_idle_per_server => 64 } }),
    # Replica connections back to the pool after each read: the next client's read takes
    # one as it is (no reset, no COM_INIT_DB).
    pool_statement => $t->causeway(config => { causeway => { mode => 'smartscale', log_level => 'notice',
                                                              pool_mode => 'statement' } }),
);
my @targets = split ' ', ($ENV{BENCH_TARGETS} // 'direct haproxy no_pool pool pool64 pool_statement');
my %label = (direct => 'direct', haproxy => 'HAProxy (mode tcp)', no_pool => 'Causeway, pool off',
             pool => 'Causeway, pool (16 idle per server)', pool64 => 'Causeway, pool (64 idle per server)',
             pool_statement => 'Causeway, pool, pool_mode = statement');
my %port = (direct => $primary->port, haproxy => $haproxy->port, map { $_ => $cw{$_}->port } keys %cw);
sub proxy_pids {
    my ($where) = @_;
    return ($haproxy->pid) if $where eq 'haproxy';
    return () unless $cw{$where};
    return ($cw{$where}->pid, $cw{$where}->children);
}
sub status_sum {
    my ($name) = @_;
    my $n = 0;
    $n += $_->value("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = '$name'")
        for $topo->servers;
    return $n;
}
sub one {
    my ($where, $n) = @_;
    # Warm-up: a pool fills, HAProxy and the servers settle.
    run_cmd([$client, $port{$where}, $n, 1], timeout => 60);
    my ($c0, $th0) = (status_sum('CONNECTIONS'), status_sum('THREADS_CREATED'));
    my @pids = proxy_pids($where);
    my $cpu0 = cpu_ticks(@pids);
    my $r = run_cmd([$client, $port{$where}, $n, $time], timeout => $time + 60);
    my $cpu = cpu_ticks(@pids) - $cpu0;
    my ($done, $bad, $p50, $p99) = split ' ', ($r->{out} // '0 0 0 0');
    $done ||= 0;
    return { rate => $done / $time, bad => $bad // 0, p50 => $p50 // 0, p99 => $p99 // 0,
             cpu_us => @pids && $done ? $cpu / clock_ticks() * 1e6 / $done : undef,
             logins => $done ? (status_sum('CONNECTIONS') - $c0) / $done : 0,
             threads => $done ? (status_sum('THREADS_CREATED') - $th0) / $done : 0 };
}

my (%sum, @log);
for my $round (1 .. $rounds) {
    for my $n (@clients) {
        for my $where (@targets) {
            my $r = one($where, $n);
            push @{ $sum{$n}{$where} }, $r;
            push @log, sprintf('round %d %2d clients %-8s %7.0f conn/s  p50 %6d us  p99 %6d us  cpu %s us/conn  '
                               . '%.2f logins %.2f threads per conn  %d errors', $round, $n, $where, $r->{rate},
                               $r->{p50}, $r->{p99}, defined $r->{cpu_us} ? sprintf('%.0f', $r->{cpu_us}) : '-',
                               $r->{logins}, $r->{threads}, $r->{bad});
            print "$log[-1]\n";
        }
    }
}
# The median over rounds (the report's figures: medians of alternating runs).
sub median {
    my ($l, $k) = @_;
    my @v = sort { $a <=> $b } grep { defined } map { $_->{$k} } @$l;
    return undef unless @v;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}
my @md = ('# Connect-per-request clients through Causeway', '',
          '- date: ' . strftime('%Y-%m-%d %H:%M:%S UTC', gmtime) . ', git ' . (`git rev-parse --short HEAD` =~ s/\s+//r),
          '- client: t/bench/connect_client.c (C, libmariadb ' . (`pkg-config --modversion libmariadb` =~ s/\s+//r)
          . '), one thread per client; each loops connect / `SELECT v FROM t WHERE id = ?` / close',
          "- $time s per run after a 1 s warm-up, $rounds round(s), targets alternating; HAProxy "
          . HAProxyRelay::version() . ' `mode tcp` to the primary; Causeway in smartscale mode (reads to replicas)',
          '- proxy CPU: utime + stime of causewayd and all its children (workers, poller), or of haproxy, per client connection',
          '- logins, threads: the servers\' (primary and both replicas) status Connections and Threads_created per client connection',
          '- load average at the end: ' . (split ' ', `cat /proc/loadavg`)[0], '');
for my $n (@clients) {
    my $direct = median($sum{$n}{direct}, 'rate');
    push @md, "## $n clients", '',
        '| target | connections/s | of direct | p50 ms | p99 ms | proxy CPU µs/conn | server logins/conn | threads created/conn | errors (median) |',
        '|---|---|---|---|---|---|---|---|---|';
    for my $where (@targets) {
        my $l = $sum{$n}{$where};
        my $rate = median($l, 'rate');
        my $cpu = median($l, 'cpu_us');
        push @md, sprintf('| %s | %.0f | %.2f | %.2f | %.2f | %s | %.2f | %.2f | %d |', $label{$where}, $rate,
                          $direct ? $rate / $direct : 0, median($l, 'p50') / 1000, median($l, 'p99') / 1000,
                          defined $cpu ? sprintf('%.0f', $cpu) : '-', median($l, 'logins'), median($l, 'threads'),
                          median($l, 'bad'));
    }
    push @md, '';
}
push @md, '```', @log, '```', '';
open my $out, '>', 't/bench/results/connect.md' or die "t/bench/results/connect.md: $!";
print $out join("\n", @md);
close $out;
print join("\n", @md), "\n";
$haproxy->stop;
Test::More::pass('bench ran');
$t->done;
