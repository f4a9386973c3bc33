package ProcUsage;
# What a set of processes costs, read from /proc: CPU time (utime + stime, fields 14 and 15
# of /proc/PID/stat, in clock ticks) and memory (Pss and Pss_Anon from
# /proc/PID/smaps_rollup, VmRSS).
# The bridge bench charges these to a proxy per query and per idle connection; it does not
# decide which processes belong to a proxy (the caller passes the pids).
use strict;
use warnings;
use POSIX ();
use Exporter 'import';

our @EXPORT_OK = qw(clock_ticks cpu_ticks pss_kb anon_kb rss_kb snapshot);

sub _slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return undef;
    local $/;
    my $s = <$fh>;
    close $fh;
    return $s;
}

sub clock_ticks { POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100 }

# utime + stime of one process (all its threads), in ticks; undef when it is gone.
# The command name (field 2) may hold spaces and parentheses: split after the last ')'.
sub _ticks {
    my ($pid) = @_;
    my $s = _slurp("/proc/$pid/stat") // return undef;
    my $rp = rindex($s, ')');
    return undef if $rp < 0;
    my @f = split ' ', substr($s, $rp + 1);   # $f[0] is field 3 (state)
    return $f[11] + $f[12];                   # fields 14 (utime) and 15 (stime)
}

# Sum of utime + stime over @pids, in ticks (a vanished pid counts 0).
sub cpu_ticks {
    my $sum = 0;
    $sum += _ticks($_) // 0 for @_;
    return $sum;
}

sub _status_kb {
    my ($pid, $field) = @_;
    my $s = _slurp("/proc/$pid/status") // return undef;
    return $s =~ /^\Q$field\E:\s+(\d+)\s+kB/m ? $1 : undef;
}

sub rss_kb {
    my $sum = 0;
    $sum += _status_kb($_, 'VmRSS') // 0 for @_;
    return $sum;
}

# Proportional set size summed over @pids: pages shared between the supervisor and its
# forked workers count once in total instead of once per process. Falls back to VmRSS on
# kernels without smaps_rollup.
sub pss_kb {
    my $sum = 0;
    for my $pid (@_) {
        my $s = _slurp("/proc/$pid/smaps_rollup");
        if (defined $s && $s =~ /^Pss:\s+(\d+)\s+kB/m) { $sum += $1 }
        else { $sum += _status_kb($pid, 'VmRSS') // 0 }
    }
    return $sum;
}

# Anonymous memory (heap, stacks) in Pss terms, summed over @pids: what per-connection
# state costs, without the shared memory segment and the mapped files, whose Pss moves
# when other processes touch or drop the same pages. Falls back to Pss.
sub anon_kb {
    my $sum = 0;
    for my $pid (@_) {
        my $s = _slurp("/proc/$pid/smaps_rollup");
        if (defined $s && $s =~ /^Pss_Anon:\s+(\d+)\s+kB/m) { $sum += $1 }
        else { $sum += pss_kb($pid) }
    }
    return $sum;
}

# { ticks, pss_kb, anon_kb, rss_kb, pids => [...] } of @pids at this moment.
sub snapshot {
    my @pids = @_;
    return { pids => [@pids], ticks => cpu_ticks(@pids), pss_kb => pss_kb(@pids),
             anon_kb => anon_kb(@pids), rss_kb => rss_kb(@pids) };
}

1;
