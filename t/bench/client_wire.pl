#!/usr/bin/perl
# What the client's wire costs: sysbench oltp_read_only plain, compressed (--mysql-compression)
# and over TLS (--mysql-ssl), each through Causeway and straight to the server (which has a
# certificate made here), in alternating rounds so that drift on a shared machine hits every
# target alike. Reports the median tps of each target, its ratio to plain through the same
# path, and the CPU the proxy's processes spent per transaction. Not part of make check.
#   perl t/bench/client_wire.pl   (BENCH_TIME=s per run, BENCH_ROUNDS=n, BENCH_THREADS=t,
#                                  BENCH_TARGETS="proxy-plain proxy-tls ..." to pick some)
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
my @targets = split ' ', ($ENV{BENCH_TARGETS}
    // 'proxy-plain proxy-compress proxy-tls direct-plain direct-compress direct-tls');
my $rows = 10000;
my $t = Causeway::Test->new;
my $ca = Causeway::Certs->new(dir => $t->dir);
my ($cert, $key) = $ca->server('server');
my $topo = $t->topology(replicas => 0, flush_log => 2,
                        primary_extra => { ssl_cert => $cert, ssl_key => $key, ssl_ca => $ca->ca_file });
my $cw = $t->causeway(config => { causeway => { workers => 2, tls_cert => $cert, tls_key => $key, log_level => 'notice' } });
# sysbench 1.0 with --mysql-ssl=on loads cacert.pem, client-cert.pem and client-key.pem from
# its working directory (neither side asks for a client certificate; the files must exist).
my $wd = $t->dir . '/sysbench-wd';
mkdir $wd;
my ($ccert, $ckey) = $ca->server('client');
system('cp', $ca->ca_file, "$wd/cacert.pem") == 0 && system('cp', $ccert, "$wd/client-cert.pem") == 0
    && system('cp', $ckey, "$wd/client-key.pem") == 0 or die "copying the sysbench TLS files failed\n";

sub sysbench {
    my ($port, @args) = @_;
    return ('sysbench', 'oltp_read_only', '--db-driver=mysql', '--mysql-host=127.0.0.1', "--mysql-port=$port",
            '--mysql-user=app', '--mysql-password=secret', '--mysql-db=test', '--tables=1', "--table-size=$rows",
            @args);
}
my $r = run_cmd([sysbench($topo->primary->port, 'prepare')], dir => $wd, timeout => 300);
die "sysbench prepare failed: $r->{out}$r->{err}" if $r->{exit};

sub one {
    my ($target) = @_;
    my ($path, $wire) = split /-/, $target;
    my $port = $path eq 'proxy' ? $cw->port : $topo->primary->port;
    my @cmd = sysbench($port, "--threads=$threads", "--time=$time", '--report-interval=0', '--db-ps-mode=disable',
                       '--mysql-ssl=' . ($wire eq 'tls' ? 'on' : 'off'),
                       '--mysql-compression=' . ($wire eq 'compress' ? 'on' : 'off'), 'run');
    my @pids = $path eq 'proxy' ? ($cw->pid, $cw->children) : ();
    my $ticks0 = @pids ? cpu_ticks(@pids) : 0;
    my $r = run_cmd(['sh', '-c', 'cd "$0" && exec "$@"', $wd, @cmd], dir => $t->dir, timeout => $time + 60);
    my $ticks = @pids ? cpu_ticks(@pids) - $ticks0 : 0;
    my ($n, $tps) = $r->{out} =~ /^\s*transactions:\s+(\d+)\s+\(([\d.]+) per sec/m;
    die "sysbench $target failed: $r->{out}$r->{err}" unless $tps;
    return ($tps, $n ? 1e6 * $ticks / clock_ticks() / $n : 0);
}
sub median { my @s = sort { $a <=> $b } @_; return @s % 2 ? $s[$#s / 2] : ($s[@s / 2 - 1] + $s[@s / 2]) / 2 }

one($_) for @targets;   # warm-up: buffer pool, connections, TLS session caches
my (%tps, %cpu);
for my $i (1 .. $rounds) {
    for my $target ($i % 2 ? @targets : reverse @targets) {
        my ($tps, $us) = one($target);
        push @{ $tps{$target} }, $tps;
        push @{ $cpu{$target} }, $us;
        printf "round %d %-16s %8.0f tps%s\n", $i, $target, $tps, $us ? sprintf(', proxy CPU %.0f us/trx', $us) : '';
    }
}
for my $target (@targets) {
    my ($path) = split /-/, $target;
    my $base = $tps{"$path-plain"} ? median(@{ $tps{"$path-plain"} }) : 0;
    my $m = median(@{ $tps{$target} });
    printf "median %-16s %8.0f tps%s%s\n", $target, $m, $base ? sprintf(', %.3f of %s-plain', $m / $base, $path) : '',
        $path eq 'proxy' ? sprintf(', proxy CPU %.0f us/trx', median(@{ $cpu{$target} })) : '';
}
Test::More::pass('bench ran');
$t->done;
