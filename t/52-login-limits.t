# Limits of the login phase (issue 9): 500 sockets that connect and send nothing, and clients
# that stall inside the TLS handshake, are closed after handshake_timeout_ms and counted while
# normal clients are served; a logged-in client is not. Failed logins from one address are
# answered after auth_failure_delay_ms once past auth_failures_before_delay (right ones too),
# without holding the worker. A user name with a newline and escape codes cannot forge a log
# line. The pid file is written without following a symlink planted at its path. With its
# descriptors used up, a worker refuses one client with ERR 1040, pauses accepting instead of
# spinning, and serves again once descriptors are free.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use IO::Select;
use JSON::PP qw(decode_json);
use Time::HiRes qw(time sleep);
use lib 't/lib';
use Causeway::Test;
use Causeway::Certs;
use Causeway::Util qw(wait_until spit slurp children_of);
use Causeway::Wire;

my $t = Causeway::Test->new;
$t->need_proxy('the limits are causewayd\'s');
my $dir = $t->dir;
my $ca = Causeway::Certs->new(dir => $dir);
my ($cert, $key) = $ca->server('server');
my $topo = $t->topology(replicas => 0);

# The pid file's path is a symlink to a file of someone else's: it must not be written through.
spit("$dir/victim", "precious\n");
symlink("$dir/victim", "$dir/limits.pid") or die "symlink: $!";

my $cw = $t->causeway(config => {
    causeway => { handshake_timeout_ms => 1500, tls_cert => $cert, tls_key => $key, pid_file => "$dir/limits.pid" },
    replicas => { map { $_->name => undef } $topo->replicas } });
my $port = $cw->port;
my $ctl = $t->root . '/bin/causewayctl';

sub counters {
    my ($proxy) = @_;
    my $r = $t->run([$ctl, '-c', $proxy->cnf, '--json', 'counters'], timeout => 20);
    my $j = eval { decode_json($r->{out}) } or return {};
    return $j->{total}{counters};
}

sub login_ok {
    my (%o) = @_;
    my $w = Causeway::Wire->new(port => $o{port} // $port, timeout => 10);
    my $r = $w->login(user => $o{user} // 'app', password => $o{password} // 'secret');
    return ($w, $r);
}

# ------------------------------------------------------------------ pid file
is(slurp("$dir/victim"), "precious\n", 'pid file: the symlink target is untouched');
ok(!-l "$dir/limits.pid" && -f "$dir/limits.pid", 'pid file: a regular file replaced the symlink');
like(slurp("$dir/limits.pid") // '', qr/^\Q${\ $cw->pid}\E$/m, 'pid file: holds the supervisor pid');
is(join(' ', glob("$dir/limits.pid.*")), '', 'pid file: no temporary file left');

# ------------------------------------------------------------------ silent and stalled clients
{
    my $before = counters($cw)->{handshake_timeouts} // 0;
    my $started = time;
    my @silent;
    for (1 .. 500) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp', Timeout => 5)
            or last;
        push @silent, $s;
    }
    is(scalar @silent, 500, '500 sockets connect and send nothing');
    my $caps = 0x200 | 0x800 | 0x8000 | 0x80000;
    my $ssl_request = substr(pack('V', 32), 0, 3) . chr(1) . pack('VVC', $caps, 16 << 20, 45) . ("\0" x 23);
    my @stalled;
    for my $i (1 .. 10) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp', Timeout => 5)
            or last;
        sysread($s, my $greeting, 4096);
        # SSLRequest, then nothing (5) or the first bytes of a ClientHello record (5).
        syswrite($s, $ssl_request . ($i > 5 ? "\x16\x03\x01\x02\x00\x01\x00\x01" : ''));
        push @stalled, $s;
    }
    is(scalar @stalled, 10, '10 clients stall inside the TLS handshake');

    # Normal clients are served meanwhile, plain and TLS.
    my ($w, $r) = login_ok();
    is($r->{type}, 'ok', 'a normal client logs in while 510 sockets idle');
    my ($q) = $w->query('SELECT 1');
    is($q->{type}, 'rows', 'and runs a query');
    my $m = $t->mariadb(['--ssl', '-N', '-e', 'select 5'], port => $port);
    like($m->{out}, qr/^5$/m, 'a TLS client is served too');

    my $early = grep { my $sel = IO::Select->new($_); $sel->can_read(0) && !sysread($_, my $b, 1) } @silent[0 .. 49];
    is($early, 0, 'before handshake_timeout_ms no silent socket is closed') if time - $started < 1.2;

    my %closed;
    my @all = (@silent, @stalled);
    my $deadline = time + 8;
    while (keys %closed < @all && time < $deadline) {
        my $sel = IO::Select->new(grep { !$closed{$_} } @all);
        for my $s ($sel->can_read(0.5)) {
            my $n = sysread($s, my $buf, 4096);
            $closed{$s} = time - $started if !$n;
        }
    }
    is(scalar keys %closed, 510, 'all 510 are closed by the proxy');
    my @times = sort { $a <=> $b } values %closed;
    cmp_ok($times[0] // 0, '>=', 1.3, 'none before handshake_timeout_ms (1.5 s)');
    cmp_ok($times[-1] // 99, '<', 6, 'all soon after it');
    ok(wait_until(sub { (counters($cw)->{handshake_timeouts} // 0) - $before >= 510 }, timeout => 5),
       'all counted in handshake_timeouts');
    cmp_ok(counters($cw)->{connections_active} // 99, '<=', 1, 'their slots are free again');

    # The logged-in client outlived the handshake timeout.
    ($q) = $w->query('SELECT 2');
    is($q->{type}, 'rows', 'a logged-in client is not closed by handshake_timeout_ms');
    $_->close for @all;
}

# ------------------------------------------------------------------ log lines cannot be forged
{
    my $evil = "x\n2030-01-01 00:00:00.000 causeway[1] [worker 0] crit: forged\e[2J";
    my ($w, $r) = login_ok(user => $evil, password => 'nope');
    is($r->{code}, 1045, 'a user name with a newline and escapes: ERR 1045');
    ok(wait_until(sub { $cw->log_text =~ /x\\x0a2030-01-01/ }, timeout => 5), 'the log shows the newline escaped');
    unlike($cw->log_text, qr/^2030-01-01/m, 'no line of the log starts with the forged text');
    unlike($cw->log_text, qr/\e/, 'no escape byte reached the log');
    # The text is still there, inside one line: the stop check must not take it for a real crit.
    $cw->{ignore_log} = qr/authentication failed for user 'x\\x0a2030/;
}

# ------------------------------------------------------------------ failed-login delay (one worker: its count)
my $one = $t->causeway(config => {
    causeway => { workers => 1, auth_failures_before_delay => 3, auth_failure_delay_ms => 600 },
    replicas => { map { $_->name => undef } $topo->replicas } });
{
    my ($busy) = login_ok(port => $one->port);
    my $before = counters($one)->{auth_delays} // 0;
    my @fast;
    for (1 .. 3) {
        my $t0 = time;
        my (undef, $r) = login_ok(port => $one->port, password => 'wrong');
        push @fast, time - $t0;
        is($r->{code}, 1045, "failed login $_: ERR 1045");
    }
    cmp_ok((sort { $b <=> $a } @fast)[0], '<', 0.4, 'the first 3 failures are answered at once');

    # The 4th attempt waits; the worker serves another client meanwhile.
    my $w = Causeway::Wire->new(port => $one->port, timeout => 10);
    my $t0 = time;
    $w->send_login(user => 'app', password => 'wrong');
    sleep 0.1;
    my $q0 = time;
    my ($q) = $busy->query('SELECT 3');
    my $query_time = time - $q0;
    is($q->{type}, 'rows', 'during a delayed login the worker answers another client');
    cmp_ok($query_time, '<', 0.3, 'at once (the delay is a timer, not a sleep)');
    my $p = $w->read_packet;
    my $waited = time - $t0;
    is(ord($p // "\0"), 0xff, 'the delayed failure gets its ERR');
    cmp_ok($waited, '>=', 0.55, 'after auth_failure_delay_ms');
    cmp_ok($waited, '<', 3, 'not much later');

    $t0 = time;
    my (undef, $r) = login_ok(port => $one->port);
    is($r->{type}, 'ok', 'the right password from that address still works');
    cmp_ok(time - $t0, '>=', 0.55, 'but is answered late too (a guesser cannot hang up early)');
    cmp_ok((counters($one)->{auth_delays} // 0) - $before, '>=', 2, 'delays are counted');
}

# ------------------------------------------------------------------ out of descriptors
{
    my ($worker) = grep { (slurp("/proc/$_/comm") // '') =~ /causeway-work/ } children_of($one->pid);
    ok($worker, 'found the worker');
    my $before = counters($one)->{accept_pauses} // 0;
    my $pl = $t->run(['prlimit', '--pid', $worker, '--nofile=40:40']);
    is($pl->{exit}, 0, 'worker descriptors limited to 40') or diag($pl->{err});
    my (@socks, $refused, $greeted);
    for (1 .. 60) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $one->port, Proto => 'tcp', Timeout => 5)
            or last;
        push @socks, $s;
    }
    sleep 0.5;
    for my $s (@socks) {
        next unless IO::Select->new($s)->can_read(0);
        my $n = sysread($s, my $buf, 4096);
        next unless $n;
        if (ord(substr($buf, 4, 1)) == 0xff) { $refused++ } else { $greeted++ }
    }
    cmp_ok($greeted // 0, '<', 60, "some clients wait in the backlog ($greeted greeted)");
    cmp_ok($refused // 0, '>=', 1, 'a client beyond the limit gets ERR 1040 instead of silence');
    my $cpu0 = cpu_seconds($worker);
    sleep 1;
    my $cpu = cpu_seconds($worker) - $cpu0;
    cmp_ok($cpu, '<', 0.2, sprintf('the worker does not spin on accept (%.2f s CPU in 1 s)', $cpu));
    cmp_ok((counters($one)->{accept_pauses} // 0) - $before, '>=', 1, 'the pauses are counted');
    like($one->log_text, qr/accepting paused/, 'and logged');
    $_->close for @socks;
    sleep 0.3;
    my ($w, $r) = login_ok(port => $one->port);
    is($r->{type}, 'ok', 'with descriptors free again, clients are served');
    $t->run(['prlimit', '--pid', $worker, '--nofile=20000:20000']);
}

sub cpu_seconds {
    my ($pid) = @_;
    my $stat = slurp("/proc/$pid/stat") // return 0;
    $stat =~ s/^.*\)\s//s;
    my @f = split ' ', $stat;
    return ($f[11] + $f[12]) / 100;    # utime + stime, in clock ticks
}

$t->done;
