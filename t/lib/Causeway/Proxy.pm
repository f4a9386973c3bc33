package Causeway::Proxy;
# One causewayd under test: writes its INI file from a topology plus overrides, starts
# `causewayd -f -c FILE` with stderr to a log, stops it with SIGTERM and reports what it
# left behind. With direct => 1 it stands for the primary itself (CAUSEWAY_TEST_DIRECT=1).
# No Test::More here: Causeway::Test turns the stop report into assertions.
use strict;
use warnings;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);
use Causeway::Util qw(repo_root free_port wait_until port_accepts spit slurp proc_alive
  children_of reap);

sub binary { $ENV{CAUSEWAY_BIN} // repo_root() . '/bin/causewayd' }

# True when bin/causewayd exists and runs (-V exits 0).
sub binary_works {
    my $b = binary();
    return 0 unless -x $b;
    my $out = `timeout 5 $b -V 2>&1`;
    return $? == 0;
}

# True when the binary is built with AddressSanitizer (make SAN=address,...): its
# allocator holds freed memory in quarantine (256 MB by default), so a bound on a
# process's memory says nothing there; such bounds are checked in the plain build.
sub sanitized {
    my $b = binary();
    return 0 unless -x $b;
    my $ldd = `ldd $b 2>/dev/null`;
    return $ldd =~ /\blibasan\b/ ? 1 : 0;
}

# new(dir => DIR, topology => TOPO, config => { section => { key => value|undef } },
#     name => 'causeway', direct => 0, workers => 2)
sub new {
    my ($class, %o) = @_;
    my $name = $o{name} // 'causeway';
    my $self = bless {
        dir      => $o{dir},
        topology => $o{topology},
        direct   => $o{direct} ? 1 : 0,
        name     => $name,
        cnf      => "$o{dir}/$name.ini",
        log      => "$o{dir}/$name.log",
        pidfile  => "$o{dir}/$name.pid",
        pid      => undef,
        owner    => $$,
    }, $class;
    if ($self->{direct}) {
        $self->{port} = $o{topology}->primary->port;
        return $self;
    }
    $self->{port} = $o{port} // free_port();
    $self->{config} = $self->_config(%{ $o{config} // {} });
    return $self;
}

sub port    { $_[0]{port} }
sub pid     { $_[0]{pid} }
sub log     { $_[0]{log} }
sub cnf     { $_[0]{cnf} }
sub pidfile { $_[0]{pidfile} }
sub direct  { $_[0]{direct} }
sub address { '127.0.0.1:' . $_[0]{port} }

# The config as an ordered list of [section, [[key, value], ...]] built from the topology
# and the overrides (a key set to undef is left out; a new section is appended).
sub _config {
    my ($self, %over) = @_;
    my $t = $self->{topology};
    my @cfg = (
        [causeway => [[listen => $self->address], [workers => 2], [mode => 'bridge'],
                      [pid_file => $self->{pidfile}], [log_level => 6],
                      # 2,000 x (1 + servers) descriptors fit any test machine's hard limit
                      # (causewayd refuses to start when max_connections cannot be served).
                      [max_connections => 2000]]],
        [monitor  => [[user => 'monitor'], [password => 'monitorpass']]],
        [primary  => [[address => $t->primary->address]]],
        [replicas => [map { [$_->name => $_->address] } $t->replicas]],
        [users    => [[app => 'secret'], [app2 => 'secret2']]],
    );
    for my $sec (sort keys %over) {
        my ($entry) = grep { $_->[0] eq $sec } @cfg;
        unless ($entry) { $entry = [$sec => []]; push @cfg, $entry }
        for my $k (sort keys %{ $over{$sec} }) {
            my $v = $over{$sec}{$k};
            my ($kv) = grep { $_->[0] eq $k } @{ $entry->[1] };
            if (!defined $v) { $entry->[1] = [grep { $_->[0] ne $k } @{ $entry->[1] }] }
            elsif ($kv) { $kv->[1] = $v }
            else { push @{ $entry->[1] }, [$k => $v] }
        }
    }
    return \@cfg;
}

sub config_value {
    my ($self, $section, $key) = @_;
    my ($sec) = grep { $_->[0] eq $section } @{ $self->{config} // [] };
    my ($kv) = grep { $_->[0] eq $key } @{ $sec ? $sec->[1] : [] };
    return $kv ? $kv->[1] : undef;
}

sub config_text {
    my ($self) = @_;
    my $s = "; written by t/lib/Causeway/Proxy.pm\n";
    for my $sec (@{ $self->{config} }) {
        $s .= "\n[$sec->[0]]\n";
        $s .= "$_->[0] = $_->[1]\n" for @{ $sec->[1] };
    }
    return $s;
}

# Writes the config and starts causewayd in the foreground; waits (bounded) for its port.
# Dies with the log tail when it exits or does not listen in time.
#   start(log_to_terminal => 1) leaves stderr alone (the demo).
sub start {
    my ($self, %o) = @_;
    return $self if $self->{direct};
    spit($self->{cnf}, $self->config_text);
    chmod 0600, $self->{cnf};    # it holds passwords (causewayd warns about a world-readable one)
    my $bin = binary();
    die "$bin is missing: run make bin/causewayd\n" unless -x $bin;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        POSIX::setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        unless ($o{log_to_terminal}) {
            open STDOUT, '>>', $self->{log};
            open STDERR, '>>', $self->{log};
        }
        exec($bin, '-f', '-c', $self->{cnf}) or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    my $ok = wait_until(sub {
        if (waitpid($pid, WNOHANG) == $pid) {
            $self->{pid} = undef;
            die sprintf("causewayd exited at start (status %d):\n%s\n", $?, $self->log_tail);
        }
        return port_accepts($self->{port});
    }, timeout => $o{timeout} // 15, interval => 0.05);
    die "causewayd did not accept on port $self->{port} in time:\n" . $self->log_tail . "\n"
        unless $ok;
    # The listening socket exists before the workers are forked: also wait (bounded, not
    # fatal) until at least `workers` children are there, so tests see a settled process tree.
    my $want = $self->config_value('causeway', 'workers') // 1;
    wait_until(sub { my @k = $self->children; @k >= $want }, timeout => 5, interval => 0.02);
    return $self;
}

sub log_text { slurp($_[0]{log}) // '' }

sub log_tail {
    my ($self, $n) = @_;
    my @l = split /\n/, $self->log_text;
    $n //= 20;
    splice(@l, 0, @l - $n) if @l > $n;
    return join("\n", @l);
}

# Log lines at level alert, crit or emerg (`... causeway[PID] [worker 0] crit: ...`), less
# those matching {ignore_log} (a test that kills a worker on purpose may set it to the pid).
sub bad_log_lines {
    my ($self) = @_;
    my @bad = grep { /(?:^|[\s\]])(?:alert|crit|emerg):\s/ } split /\n/, $self->log_text;
    @bad = grep { $_ !~ $self->{ignore_log} } @bad if $self->{ignore_log};
    return @bad;
}

# Processes whose parent is the supervisor (workers and poller).
sub children {
    my ($self) = @_;
    return () unless $self->{pid};
    my @k = children_of($self->{pid});
    return @k;
}

sub is_running { my $s = shift; return $s->{pid} && proc_alive($s->{pid}) }

sub shm_path {
    my ($self) = @_;
    my ($cw) = grep { $_->[0] eq 'causeway' } @{ $self->{config} // [] };
    my ($kv) = grep { $_->[0] eq 'shm_name' } @{ $cw ? $cw->[1] : [] };
    my $name = ($kv && length $kv->[1]) ? $kv->[1] : "/causeway-$self->{port}";
    $name =~ s{^/}{};
    return "/dev/shm/$name";
}

# SIGTERM and a bounded wait. Returns a report:
#   { exited, exit_code, signal, pidfile_left, children_left => [pids], shm_left }
sub stop {
    my ($self, %o) = @_;
    return { direct => 1 } if $self->{direct};
    my $pid = $self->{pid} or return { not_running => 1 };
    my @kids = $self->children;
    kill 'TERM', $pid;
    my $st = reap($pid, $o{timeout} // 10);
    my %r = (exited => defined $st ? 1 : 0);
    if (defined $st) {
        $r{exit_code} = $st >> 8;
        $r{signal} = $st & 127;
    } else {
        kill 'KILL', $pid;
        reap($pid, 5);
    }
    $self->{pid} = undef;
    # Children get a moment to notice the supervisor is gone.
    wait_until(sub { !grep { proc_alive($_) } @kids }, timeout => 2);
    $r{children_left} = [grep { proc_alive($_) } @kids];
    kill 'KILL', @{ $r{children_left} } if @{ $r{children_left} };
    $r{pidfile_left} = -e $self->{pidfile} ? 1 : 0;
    $r{shm_left} = -e $self->shm_path ? $self->shm_path : '';
    return \%r;
}

# Last resort (END block, die): SIGKILL the supervisor and its children.
sub kill_all {
    my ($self) = @_;
    my $pid = $self->{pid} or return;
    my @kids = children_of($pid);
    kill 'KILL', $pid, @kids;
    reap($pid, 5);
    $self->{pid} = undef;
}

1;
