package Sysbench;
# sysbench oltp_point_select against one MySQL port: prepare the table, run for a bounded
# time, and parse what the bridge bench reports (tps, queries, p95 latency, errors).
# Every run is under timeout(1) through Causeway::Util::run_cmd.
use strict;
use warnings;
use Causeway::Util qw(run_cmd);

sub version {
    my $v = `sysbench --version 2>/dev/null`;
    return $v =~ /sysbench\s+(\S+)/ ? $1 : 'unknown';
}

# The options every call shares: where to connect and which table.
sub _common {
    my (%o) = @_;
    return ('oltp_point_select', '--db-driver=mysql', '--mysql-host=127.0.0.1',
            "--mysql-port=$o{port}", '--mysql-user=' . ($o{user} // 'app'),
            '--mysql-password=' . ($o{password} // 'secret'), '--mysql-db=' . ($o{db} // 'test'),
            '--tables=1', "--table-size=$o{rows}");
}

# prepare(port => P, rows => N, dir => TMP): creates and fills sbtest1. Dies on failure.
sub prepare {
    my (%o) = @_;
    my $r = run_cmd(['sysbench', _common(%o), 'prepare'], dir => $o{dir}, timeout => 300);
    die "sysbench prepare failed (exit $r->{exit}):\n$r->{out}\n$r->{err}\n" if $r->{exit} != 0;
    return $r;
}

# run(port => P, rows => N, threads => T, time => S, ps => 1|0, dir => TMP)
# Returns { ok, tps, queries, p95_ms, avg_ms, errors, reconnects, out, err, exit }.
sub run {
    my (%o) = @_;
    my @cmd = ('sysbench', _common(%o), "--threads=$o{threads}", "--time=$o{time}",
               '--report-interval=0', '--percentile=95', '--db-ps-mode=' . ($o{ps} ? 'auto' : 'disable'),
               'run');
    my $r = run_cmd(\@cmd, dir => $o{dir}, timeout => $o{time} + 60);
    my %res = (exit => $r->{exit}, out => $r->{out}, err => $r->{err});
    my $out = $r->{out};
    $res{queries}    = $1 if $out =~ /^\s*queries:\s+(\d+)/m;
    $res{tps}        = $1 if $out =~ /^\s*transactions:\s+\d+\s+\(([\d.]+) per sec/m;
    $res{errors}     = $1 if $out =~ /^\s*ignored errors:\s+(\d+)/m;
    $res{reconnects} = $1 if $out =~ /^\s*reconnects:\s+(\d+)/m;
    $res{p95_ms}     = $1 if $out =~ /^\s*95th percentile:\s+([\d.]+)/m;
    $res{avg_ms}     = $1 if $out =~ /^\s*avg:\s+([\d.]+)/m;
    $res{ok} = ($r->{exit} == 0 && defined $res{tps} && defined $res{queries} && $res{queries} > 0) ? 1 : 0;
    return \%res;
}

1;
