package Causeway::Util;
# Small process, port and /proc helpers shared by the harness, the tests and the demo.
# Nothing here uses Test::More: callers turn results into assertions.
use strict;
use warnings;
use Exporter 'import';
use IO::Socket::INET;
use POSIX qw(:sys_wait_h setpgid);
use Time::HiRes qw(time sleep);
use File::Basename qw(dirname);
use Cwd qw(abs_path);

our @EXPORT_OK = qw(repo_root free_port wait_until port_accepts run_cmd spawn reap
  proc_alive proc_ppid children_of vm_rss_kb proc_status_kb slurp spit pid_of_connection percentile);

# The $p-th percentile (nearest rank) of an already sorted arrayref; undef when empty.
sub percentile {
    my ($sorted, $p) = @_;
    return undef unless @$sorted;
    my $i = int($p / 100 * @$sorted + 0.5) - 1;
    $i = 0 if $i < 0;
    $i = $#$sorted if $i > $#$sorted;
    return $sorted->[$i];
}

# The repository root: this file is t/lib/Causeway/Util.pm.
sub repo_root { abs_path(dirname(__FILE__) . '/../../..') }

# A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, close).
sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp',
                                  Listen => 1, ReuseAddr => 0)
        or die "free_port: bind 127.0.0.1:0: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# Calls $cond every $interval seconds until it returns true or $timeout seconds pass.
# Returns the condition's last value (false on time-out).
sub wait_until {
    my ($cond, %o) = @_;
    my $timeout  = $o{timeout}  // 10;
    my $interval = $o{interval} // 0.05;
    my $deadline = time + $timeout;
    while (1) {
        my $v = $cond->();
        return $v if $v;
        return $v if time >= $deadline;
        sleep $interval;
    }
}

sub port_accepts {
    my ($port, $host) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $host // '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 1);
    return 0 unless $s;
    close $s;
    return 1;
}

sub slurp {
    my ($file) = @_;
    open my $fh, '<', $file or return undef;
    local $/;
    my $s = <$fh>;
    close $fh;
    return $s;
}

sub spit {
    my ($file, $content, $mode) = @_;
    open my $fh, '>', $file or die "write $file: $!";
    print $fh $content;
    close $fh or die "close $file: $!";
    chmod $mode, $file if defined $mode;
}

# Runs a command to completion under coreutils timeout(1).
#   run_cmd([cmd, args...], stdin => STRING, timeout => SECONDS, dir => TMPDIR, env => {...})
# Returns { exit => CODE (124 on time-out), signal => N, out => STDOUT, err => STDERR, timed_out }.
my $run_seq = 0;
sub run_cmd {
    my ($cmd, %o) = @_;
    my $timeout = $o{timeout} // 60;
    my $dir = $o{dir} // '/tmp';
    $run_seq++;
    my $base = "$dir/.run-$$-$run_seq";
    my ($in, $out, $err) = ("$base.in", "$base.out", "$base.err");
    spit($in, $o{stdin} // '');
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', $in or POSIX::_exit(126);
        open STDOUT, '>', $out or POSIX::_exit(126);
        open STDERR, '>', $err or POSIX::_exit(126);
        %ENV = (%ENV, %{ $o{env} }) if $o{env};
        exec('timeout', '-k', '5', $timeout, @$cmd) or POSIX::_exit(127);
    }
    waitpid($pid, 0);
    my $st = $?;
    my %r = (exit => $st >> 8, signal => $st & 127, out => slurp($out) // '',
             err => slurp($err) // '');
    $r{timed_out} = ($r{exit} == 124 || $r{exit} == 137) ? 1 : 0;
    unlink $in, $out, $err;
    return \%r;
}

# Starts a command in the background in its own process group; returns its pid.
#   spawn([cmd...], stdout => FILE, stderr => FILE, stdin => FILE)
sub spawn {
    my ($cmd, %o) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        setpgid(0, 0);
        open STDIN, '<', $o{stdin} // '/dev/null' or POSIX::_exit(126);
        if (defined $o{stdout}) { open STDOUT, '>>', $o{stdout} or POSIX::_exit(126) }
        if (defined $o{stderr}) { open STDERR, '>>', $o{stderr} or POSIX::_exit(126) }
        exec(@$cmd) or POSIX::_exit(127);
    }
    return $pid;
}

# Waits (bounded) for our child $pid to exit; returns its wait status or undef on time-out.
sub reap {
    my ($pid, $timeout) = @_;
    my $status;
    wait_until(sub {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid) { $status = $?; return 1 }
        if ($r == -1) { $status = -1; return 1 }    # not our child or already reaped
        return 0;
    }, timeout => $timeout // 10, interval => 0.02);
    return $status;
}

# /proc/PID/stat fields (state, ppid); undef when the process is gone.
sub _stat {
    my ($pid) = @_;
    my $s = slurp("/proc/$pid/stat") // return;
    $s =~ /\)\s+(\S)\s+(\d+)/ or return;
    return ($1, $2);
}

# True while $pid exists and is not a zombie.
sub proc_alive {
    my ($pid) = @_;
    return 0 unless $pid && $pid > 0;
    my ($state) = _stat($pid);
    return defined $state && $state ne 'Z' && $state ne 'X';
}

sub proc_ppid { my (undef, $ppid) = _stat($_[0]); return $ppid }

# Live (non-zombie) processes whose parent is $pid.
sub children_of {
    my ($pid) = @_;
    my @kids;
    opendir my $d, '/proc' or return;
    for my $p (grep { /^\d+$/ } readdir $d) {
        my ($state, $ppid) = _stat($p);
        next unless defined $ppid && $ppid == $pid;
        next if $state eq 'Z' || $state eq 'X';
        push @kids, $p + 0;
    }
    closedir $d;
    @kids = sort { $a <=> $b } @kids;
    return @kids;
}

sub vm_rss_kb { return proc_status_kb($_[0], 'VmRSS') }

# A "NAME:  N kB" field of /proc/PID/status (VmRSS, RssAnon, RssFile, RssShmem, ...).
sub proc_status_kb {
    my ($pid, $field) = @_;
    my $s = slurp("/proc/$pid/status") // return;
    return $s =~ /^\Q$field\E:\s+(\d+)\s+kB/m ? $1 : undef;
}

# The pid (among @candidates) holding the server side of the TCP connection from
# 127.0.0.1:$client_port to 127.0.0.1:$server_port, found through /proc/net/tcp inodes.
sub pid_of_connection {
    my ($server_port, $client_port, @candidates) = @_;
    my $want_local = sprintf('0100007F:%04X', $server_port);
    my $want_rem   = sprintf('0100007F:%04X', $client_port);
    my $inode;
    for my $line (split /\n/, slurp('/proc/net/tcp') // '') {
        my @f = split ' ', $line;
        next unless @f > 9 && $f[1] eq $want_local && $f[2] eq $want_rem;
        $inode = $f[9];
        last;
    }
    return unless $inode;
    for my $pid (@candidates) {
        opendir my $d, "/proc/$pid/fd" or next;
        for my $fd (readdir $d) {
            my $l = readlink("/proc/$pid/fd/$fd") // next;
            return $pid if $l eq "socket:[$inode]";
        }
    }
    return;
}

1;
