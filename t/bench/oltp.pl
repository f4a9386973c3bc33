#!/usr/bin/perl
# Optimistic transactions under sysbench's OLTP workloads (issue 8 item 7): oltp_read_only
# (BEGIN, 14 reads, COMMIT), with the text protocol and with sysbench's server-side prepared
# statements (COM_STMT_EXECUTE inside the transaction), and oltp_read_write (reads, then
# writes, in one transaction),
# through Causeway in smartscale mode (optimistic transactions on), through Causeway in
# bridge mode, and direct to the primary, alternating rounds so that drift hits all alike.
# Reports tps, the share of SELECTs that replicas ran (USER_STATISTICS.SELECT_COMMANDS of
# the benchmark's user on each server), ignored errors (1213 retries), and Causeway's
# optimistic transaction counters. Writes t/bench/results/oltp.md.
#   perl t/bench/oltp.pl   (BENCH_TIME=s per run, BENCH_ROUNDS=n, BENCH_THREADS=t)
use strict;
use warnings;
use lib 't/lib', 't/bench';
use POSIX qw(strftime);
use Causeway::Test;
use Causeway::Util qw(run_cmd spit);
use Sysbench;

my $time = $ENV{BENCH_TIME} // 15;
my $rounds = $ENV{BENCH_ROUNDS} // 2;
my $threads = $ENV{BENCH_THREADS} // 8;
my $rows = 10000;
my $t = Causeway::Test->new(name => 'bench-oltp');
my $topo = $t->topology(flush_log => 2);
my $primary = $topo->primary;
$primary->sql($_) for ("CREATE USER 'bench'\@'%' IDENTIFIED BY 'benchpw'", "GRANT ALL PRIVILEGES ON *.* TO 'bench'\@'%'",
                       "REVOKE READ_ONLY ADMIN ON *.* FROM 'bench'\@'%'");
$_->sql('SET GLOBAL userstat = 1') for $topo->servers;
my %users = (users => { bench => 'benchpw' });
my %cw = (
    smartscale => $t->causeway(config => { causeway => { mode => 'smartscale', log_level => 'notice' }, %users }),
    bridge     => $t->causeway(config => { causeway => { mode => 'bridge', log_level => 'notice' }, %users }),
);
my %port = (direct => $primary->port, map { $_ => $cw{$_}->port } keys %cw);
Sysbench::prepare(port => $primary->port, rows => $rows, dir => $t->dir, user => 'bench', password => 'benchpw');
$topo->wait_for_replicas(60) or die "replicas did not catch up with the prepare\n";

sub selects {
    my %n;
    for my $s ($topo->servers) {
        my $v = $s->sql("SELECT SELECT_COMMANDS FROM information_schema.USER_STATISTICS WHERE USER = 'bench'");
        $n{ $s->name } = $v->[0][0] // 0;
    }
    return \%n;
}
sub counters { return $t->ctl_counters($cw{smartscale}) }
# Workloads: label => [sysbench test, --db-ps-mode].
my @workloads = ([ 'oltp_read_only', 'oltp_read_only', 'disable' ],
                 [ 'oltp_read_only prepared', 'oltp_read_only', 'auto' ],
                 [ 'oltp_read_write', 'oltp_read_write', 'disable' ]);
sub one {
    my ($test, $ps, $where) = @_;
    my @cmd = ('sysbench', $test, '--db-driver=mysql', '--mysql-host=127.0.0.1', "--mysql-port=$port{$where}",
               '--mysql-user=bench', '--mysql-password=benchpw', '--mysql-db=test', '--tables=1',
               "--table-size=$rows", "--threads=$threads", "--time=$time", '--report-interval=0',
               "--db-ps-mode=$ps", 'run');
    my ($s0, $c0) = (selects(), counters());
    my $r = run_cmd(\@cmd, dir => $t->dir, timeout => $time + 60);
    my ($s1, $c1) = (selects(), counters());
    my %res;
    ($res{tps}) = $r->{out} =~ /^\s*transactions:\s+\d+\s+\(([\d.]+) per sec/m;
    ($res{errors}) = $r->{out} =~ /^\s*ignored errors:\s+(\d+)/m;
    ($res{transactions}) = $r->{out} =~ /^\s*transactions:\s+(\d+)/m;
    die "sysbench $test via $where failed:\n$r->{out}$r->{err}" unless $res{tps};
    my ($rep, $all) = (0, 0);
    for my $s ($topo->servers) {
        my $d = $s1->{ $s->name } - $s0->{ $s->name };
        $all += $d;
        $rep += $d unless $s->name eq 'primary';
    }
    $res{replica_share} = $all ? $rep / $all : 0;
    $res{$_} = ($c1->{$_} // 0) - ($c0->{$_} // 0)
        for qw(optimistic_started optimistic_completed optimistic_migrated optimistic_conflicts
               optimistic_primary_wrote optimistic_primary_unrepeatable optimistic_primary_write_first);
    return \%res;
}

my (%sum, @log);
for my $w (@workloads) {
    my ($test, $sysbench_test, $ps) = @$w;
    for my $round (1 .. $rounds) {
        for my $where (qw(direct bridge smartscale)) {
            my $r = one($sysbench_test, $ps, $where);
            push @{ $sum{$test}{$where} }, $r;
            my $line = sprintf('%-23s round %d %-10s %8.1f tps  replicas ran %5.1f%% of SELECTs  ignored errors %d',
                               $test, $round, $where, $r->{tps}, 100 * $r->{replica_share}, $r->{errors} // 0);
            $line .= sprintf('  optimistic: %d started, %d completed, %d migrated, %d 1213; on the primary from the start:'
                             . ' %d after a write, %d unrepeatable, %d write first', @$r{
                qw(optimistic_started optimistic_completed optimistic_migrated optimistic_conflicts
                   optimistic_primary_wrote optimistic_primary_unrepeatable optimistic_primary_write_first)})
                if $where eq 'smartscale';
            print "$line\n";
            push @log, $line;
        }
    }
}

sub mean { my ($list, $k) = @_; my $s = 0; $s += $_->{$k} // 0 for @$list; return @$list ? $s / @$list : 0 }
my @md = ('# Optimistic transactions: sysbench OLTP through Causeway', '',
          '- date: ' . strftime('%Y-%m-%d %H:%M:%S UTC', gmtime) . ', git ' . (`git rev-parse --short HEAD` =~ s/\s+//r),
          "- $threads threads, $time s per run, $rounds rounds alternating direct / bridge / smartscale, table of $rows rows",
          '- load average at the end: ' . (split ' ', `cat /proc/loadavg`)[0], '',
          '| workload | direct tps | bridge tps | smartscale tps | smartscale / direct | SELECTs on replicas | 1213 per transaction | migrated | completed on replica |',
          '|---|---|---|---|---|---|---|---|---|');
for my $test (map { $_->[0] } @workloads) {
    my %m = map { $_ => mean($sum{$test}{$_}, 'tps') } qw(direct bridge smartscale);
    my $ss = $sum{$test}{smartscale};
    my $tx = 0;
    $tx += $_->{transactions} // 0 for @$ss;
    my $errs = 0;
    $errs += $_->{errors} // 0 for @$ss;
    push @md, sprintf('| %s | %.0f | %.0f | %.0f | %.2f | %.1f%% | %.2f%% | %d | %d |', $test, @m{qw(direct bridge smartscale)},
                      $m{direct} ? $m{smartscale} / $m{direct} : 0, 100 * mean($ss, 'replica_share'),
                      $tx ? 100 * $errs / $tx : 0, mean($ss, 'optimistic_migrated') * @$ss,
                      mean($ss, 'optimistic_completed') * @$ss);
}
push @md, '', '```', @log, '```', '';
spit('t/bench/results/oltp.md', join("\n", @md));
print join("\n", @md), "\n";
Test::More::pass('bench ran');
$t->done;
