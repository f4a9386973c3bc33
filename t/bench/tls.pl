#!/usr/bin/perl
# TLS cost through Causeway: sysbench oltp_point_select (8 threads) with --mysql-ssl against
# the same proxy without it, alternating runs so drift hits both alike. Not part of make check.
#   perl t/bench/tls.pl   (BENCH_TIME=s per run, BENCH_ROUNDS=n, BENCH_THREADS=t)
use strict;
use warnings;
use lib 't/lib', 't/bench';
use Causeway::Test;
use Causeway::Certs;
use Causeway::Util qw(run_cmd);
use Sysbench;

my $time = $ENV{BENCH_TIME} // 10;
my $rounds = $ENV{BENCH_ROUNDS} // 3;
my $threads = $ENV{BENCH_THREADS} // 8;
my $t = Causeway::Test->new;
my $ca = Causeway::Certs->new(dir => $t->dir);
my ($cert, $key) = $ca->server('server');
my $topo = $t->topology(replicas => 0, flush_log => 2);
my $cw = $t->causeway(config => { causeway => { workers => 2, tls_cert => $cert, tls_key => $key, log_level => 'notice' },
                                   replicas => { map { $_->name => undef } $topo->replicas } });
Sysbench::prepare(port => $topo->primary->port, rows => 10000, dir => $t->dir);
# sysbench 1.0 with --mysql-ssl=on loads cacert.pem, client-cert.pem and client-key.pem from
# its working directory (the proxy asks for no client certificate; the files must exist).
my $ssl_dir = $t->dir . '/sysbench-ssl';
mkdir $ssl_dir;
my ($ccert, $ckey) = $ca->server('client');
system('cp', $ca->ca_file, "$ssl_dir/cacert.pem") == 0 && system('cp', $ccert, "$ssl_dir/client-cert.pem") == 0
    && system('cp', $ckey, "$ssl_dir/client-key.pem") == 0 or die "copying the sysbench TLS files failed\n";

sub one {
    my ($ssl) = @_;
    my @cmd = ('sysbench', Sysbench::_common(port => $cw->port, rows => 10000), "--threads=$threads",
               "--time=$time", '--report-interval=0', '--db-ps-mode=disable', "--mysql-ssl=" . ($ssl ? 'on' : 'off'),
               'run');
    my $r = run_cmd(['sh', '-c', 'cd "$0" && exec "$@"', $ssl_dir, @cmd], dir => $t->dir, timeout => $time + 60);
    my ($tps) = $r->{out} =~ /^\s*transactions:\s+\d+\s+\(([\d.]+) per sec/m;
    die "sysbench failed: $r->{out}$r->{err}" unless $tps;
    return $tps;
}
my (%sum, @lines);
for my $i (1 .. $rounds) {
    for my $mode ('plain', 'tls') {
        my $tps = one($mode eq 'tls');
        $sum{$mode} += $tps;
        push @lines, sprintf('round %d %-5s %8.0f tps', $i, $mode, $tps);
        print "$lines[-1]\n";
    }
}
printf "mean: plain %.0f tps, tls %.0f tps, tls/plain %.3f\n", $sum{plain} / $rounds, $sum{tls} / $rounds,
    $sum{tls} / $sum{plain};
Test::More::pass('bench ran');
$t->done;
