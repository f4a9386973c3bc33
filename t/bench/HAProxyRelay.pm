package HAProxyRelay;
# Debian's HAProxy as the yardstick relay: `mode tcp`, one listener on a free 127.0.0.1 port
# forwarding raw bytes to one server. The config is generated into the bench's own dir;
# haproxy runs in the foreground (-db) as our child, so it is stopped by its pid only.
use strict;
use warnings;
use POSIX qw(:sys_wait_h);
use Causeway::Util qw(free_port wait_until port_accepts spit slurp spawn reap proc_alive);

sub binary { $ENV{BENCH_HAPROXY} // '/usr/sbin/haproxy' }

sub version {
    my $b = binary();
    my $v = `$b -v 2>/dev/null`;
    return $v =~ /version\s+(\S+)/ ? $1 : 'unknown';
}

# new(dir => DIR, server => 'HOST:PORT', maxconn => 4000): HAProxy needs about 2 x maxconn fds
sub new {
    my ($class, %o) = @_;
    my $self = bless {
        dir     => $o{dir},
        server  => $o{server},
        maxconn => $o{maxconn} // 4000,
        port    => $o{port} // free_port(),
        cfg     => "$o{dir}/haproxy.cfg",
        log     => "$o{dir}/haproxy.log",
        pid     => undef,
    }, $class;
    return $self;
}

sub port { $_[0]{port} }
sub pid  { $_[0]{pid} }
sub log_text { slurp($_[0]{log}) // '' }

sub config_text {
    my ($self) = @_;
    # Threads: HAProxy's default (one per CPU), as Causeway runs one worker per core.
    # Long client/server timeouts: idle clients of the memory test must not be cut.
    return join("\n",
        '# written by t/bench/HAProxyRelay.pm',
        'global',
        "    maxconn $self->{maxconn}",
        '',
        'defaults',
        '    mode tcp',
        '    timeout connect 5s',
        '    timeout client 1h',
        '    timeout server 1h',
        '',
        'listen mysql',
        "    bind 127.0.0.1:$self->{port}",
        "    maxconn $self->{maxconn}",
        "    server primary $self->{server}",
        '');
}

# Writes and checks the config, starts haproxy and waits (bounded) for its port.
sub start {
    my ($self, %o) = @_;
    spit($self->{cfg}, $self->config_text);
    my $bin = binary();
    die "$bin is missing: apt-get install haproxy\n" unless -x $bin;
    my $check = `timeout 10 $bin -c -q -f $self->{cfg} 2>&1`;
    die "haproxy -c rejected $self->{cfg}:\n$check\n" if $? != 0;
    my $pid = spawn([$bin, '-db', '-f', $self->{cfg}], stdout => $self->{log}, stderr => $self->{log});
    $self->{pid} = $pid;
    my $ok = wait_until(sub {
        if (waitpid($pid, WNOHANG) == $pid) {
            $self->{pid} = undef;
            die "haproxy exited at start:\n" . $self->log_text . "\n";
        }
        return port_accepts($self->{port});
    }, timeout => $o{timeout} // 10, interval => 0.05);
    die "haproxy did not accept on port $self->{port} in time:\n" . $self->log_text . "\n" unless $ok;
    return $self;
}

# SIGTERM (hard stop: HAProxy closes every connection) and a bounded wait; SIGKILL after.
sub stop {
    my ($self) = @_;
    my $pid = $self->{pid} or return 1;
    kill 'TERM', $pid;
    my $st = reap($pid, 10);
    unless (defined $st) {
        kill 'KILL', $pid;
        reap($pid, 5);
    }
    $self->{pid} = undef;
    return defined $st;
}

sub kill_all {
    my ($self) = @_;
    my $pid = $self->{pid} or return;
    kill 'KILL', $pid if proc_alive($pid);
    reap($pid, 5);
    $self->{pid} = undef;
}

1;
