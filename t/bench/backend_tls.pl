#!/usr/bin/perl
# backend_tls cost through Causeway: sysbench oltp_read_only (smartscale, reads on two
# replicas) through a proxy with backend_tls = on against the same topology through one with
# backend_tls = off, alternating runs so drift hits both alike. The servers have certificates
# made here. Besides tps (noisy on a shared machine) it reports the CPU the proxy's processes
# spent per transaction, which the other load on the machine does not change much.
# Not part of make check.
#   perl t/bench/backend_tls.pl   (BENCH_TIME=s per run, BENCH_ROUNDS=n, BENCH_THREADS=t)
use strict;
use warnings;
use lib 't/lib', 't/bench';
use Causeway::Test;
use Causeway::Certs;
use Causeway::Util qw(run_cmd);
use ProcUsage qw(cpu_ticks clock_ticks);

my $time = $ENV{BENCH_TIME} // 10;
my $rounds = $ENV{BENCH_ROUNDS} // 3;
my $threads = $ENV{BENCH_THREADS} // 8;
my $rows = 10000;
my $t = Causeway::Test->new;
my $ca = Causeway::Certs->new(dir => $t->dir);
my ($cert, $key) = $ca->server('server');
my %ssl = (ssl_cert => $cert, ssl_key => $key, ssl_ca => $ca->ca_file);
my $topo = $t->topology(replicas => 2, flush_log => 2, primary_extra => \%ssl, replica_extra => \%ssl);
my %proxy;
for my $mode ('off', 'on') {
    $proxy{$mode} = $t->causeway(name => "causeway-$mode",
        config => { causeway => { workers => 2, mode => 'smartscale', backend_tls => $mode, log_level => 'notice' } });
}

sub sysbench {
    my ($port, @args) = @_;
    return ('sysbench', 'oltp_read_only', '--db-driver=mysql', '--mysql-host=127.0.0.1', "--mysql-port=$port",
            '--mysql-user=app', '--mysql-password=secret', '--mysql-db=test', '--tables=1', "--table-size=$rows",
            @args);
}
my $r = run_cmd([sysbench($topo->primary->port, 'prepare')], dir => $t->dir, timeout => 300);
die "sysbench prepare failed: $r->{out}$r->{err}" if $r->{exit};
$topo->wait_for_replicas(60);

sub one {
    my ($mode) = @_;
    my @cmd = sysbench($proxy{$mode}->port, "--threads=$threads", "--time=$time", '--report-interval=0',
                       '--db-ps-mode=disable', '--percentile=95', 'run');
    my @pids = ($proxy{$mode}->pid, $proxy{$mode}->children);
    my $ticks0 = cpu_ticks(@pids);
    my $r = run_cmd(\@cmd, dir => $t->dir, timeout => $time + 60);
    my $ticks = cpu_ticks(@pids) - $ticks0;
    my ($n, $tps) = $r->{out} =~ /^\s*transactions:\s+(\d+)\s+\(([\d.]+) per sec/m;
    my ($p95) = $r->{out} =~ /95th percentile:\s+([\d.]+)/;
    die "sysbench failed: $r->{out}$r->{err}" unless $tps;
    return ($tps, $p95, 1e6 * $ticks / clock_ticks() / $n);   # CPU us per transaction
}
one($_) for 'off', 'on';   # warm-up: pools, buffer pools
my (%sum, %cpu);
for my $i (1 .. $rounds) {
    for my $mode ('off', 'on') {
        my ($tps, $p95, $us) = one($mode);
        $sum{$mode} += $tps;
        $cpu{$mode} += $us;
        printf "round %d backend_tls=%-3s %8.1f tps  p95 %6.2f ms  proxy CPU %5.0f us/transaction\n", $i, $mode, $tps,
            $p95 // -1, $us;
    }
}
printf "mean: off %.1f tps, on %.1f tps, on/off %.3f; proxy CPU per transaction off %.0f us, on %.0f us (x%.2f)\n",
    $sum{off} / $rounds, $sum{on} / $rounds, $sum{on} / $sum{off}, $cpu{off} / $rounds, $cpu{on} / $rounds,
    $cpu{on} / $cpu{off};
Test::More::pass('bench ran');
$t->done;
