#!/usr/bin/perl
# Connect-per-request clients (issue 12; DESIGN §6 "connect + one SELECT + close, PHP
# style"): 8 PHP processes (mysqli, a C client library) each loop connect / one primary-key
# SELECT / close for a fixed time, directly against the primary, through Causeway with its
# backend pool, and through Causeway with the pool off, alternating rounds. Reports
# connections per second and the servers' own logins (status Connections) per client
# connection. Writes t/bench/results/connect.md.
#   perl t/bench/connect.pl   (BENCH_TIME=s per run, BENCH_ROUNDS=n, BENCH_CLIENTS=n)
use strict;
use warnings;
use lib 't/lib', 't/bench';
use POSIX qw(strftime);
use Causeway::Test;
use Causeway::Util qw(run_cmd spit);

my $time = $ENV{BENCH_TIME} // 8;
my $rounds = $ENV{BENCH_ROUNDS} // 2;
my $clients = $ENV{BENCH_CLIENTS} // 8;
my $t = Causeway::Test->new(name => 'bench-connect');
my $topo = $t->topology(flush_log => 2);
my $primary = $topo->primary;
$primary->sql($_) for ('CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)',
                       'INSERT INTO test.t SELECT seq, seq FROM test.seq_1_to_1000');
$topo->wait_for_replicas(30);
my %cw = (
    pool    => $t->causeway(config => { causeway => { mode => 'smartscale', log_level => 'notice' } }),
    no_pool => $t->causeway(config => { causeway => { mode => 'smartscale', log_level => 'notice',
                                                      pool_max_idle_per_server => 0 } }),
);
my %port = (direct => $primary->port, map { $_ => $cw{$_}->port } keys %cw);
my $php = $t->dir . '/connect.php';
spit($php, <<'PHP');
<?php
$port = (int)$argv[1]; $until = microtime(true) + (float)$argv[2]; $n = 0; $bad = 0;
mysqli_report(MYSQLI_REPORT_OFF);
while (microtime(true) < $until) {
    $m = @new mysqli('127.0.0.1', 'app', 'secret', 'test', $port);
    if ($m->connect_errno) { $bad++; continue; }
    $r = $m->query('SELECT v FROM t WHERE id = ' . (1 + $n % 1000));
    if (!$r || $r->fetch_row()[0] != 1 + $n % 1000) { $bad++; }
    $m->close();
    $n++;
}
echo "$n $bad\n";
PHP

sub logins {
    my $n = 0;
    $n += $_->value("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'CONNECTIONS'")
        for $topo->servers;
    return $n;
}
sub one {
    my ($where) = @_;
    my $l0 = logins();
    my @pids;
    my $dir = $t->dir;
    for my $i (1 .. $clients) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            my $r = run_cmd(['php', $php, $port{$where}, $time], dir => $dir, timeout => $time + 30);
            open my $fh, '>', "$dir/connect.$i.out" or POSIX::_exit(1);
            print $fh $r->{out};
            close $fh;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    waitpid($_, 0) for @pids;
    my ($n, $bad) = (0, 0);
    for my $i (1 .. $clients) {
        open my $fh, '<', "$dir/connect.$i.out" or next;
        my ($a, $b) = split ' ', <$fh> // '0 0';
        $n += $a; $bad += $b;
    }
    return { rate => $n / $time, bad => $bad, logins_per_client => $n ? (logins() - $l0) / $n : 0 };
}

my (%sum, @log);
for my $round (1 .. $rounds) {
    for my $where (qw(direct pool no_pool)) {
        my $r = one($where);
        push @{ $sum{$where} }, $r;
        push @log, sprintf('round %d %-8s %7.0f connections/s  %.2f server logins per client  %d errors', $round, $where,
                           $r->{rate}, $r->{logins_per_client}, $r->{bad});
        print "$log[-1]\n";
    }
}
sub mean { my ($l, $k) = @_; my $s = 0; $s += $_->{$k} for @$l; return $s / @$l }
my $direct = mean($sum{direct}, 'rate');
my @md = ('# Connect-per-request clients through Causeway', '',
          '- date: ' . strftime('%Y-%m-%d %H:%M:%S UTC', gmtime) . ', git ' . (`git rev-parse --short HEAD` =~ s/\s+//r),
          "- $clients PHP mysqli processes, connect / one SELECT / close, $time s per run, $rounds rounds alternating",
          '- load average at the end: ' . (split ' ', `cat /proc/loadavg`)[0], '',
          '| target | connections/s | of direct | server logins per client connection |', '|---|---|---|---|');
for my $where (qw(direct pool no_pool)) {
    my $rate = mean($sum{$where}, 'rate');
    push @md, sprintf('| %s | %.0f | %.2f | %.2f |', $where eq 'pool' ? 'Causeway (pool)' : $where eq 'no_pool'
                          ? 'Causeway (pool off)' : 'direct', $rate, $direct ? $rate / $direct : 0,
                      mean($sum{$where}, 'logins_per_client'));
}
push @md, '', '```', @log, '```', '';
spit('t/bench/results/connect.md', join("\n", @md));
print join("\n", @md), "\n";
Test::More::pass('bench ran');
$t->done;
