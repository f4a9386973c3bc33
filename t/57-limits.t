# Instance-wide limits (issue 9, items 4 and 6): client_idle_timeout_s closes a logged-in
# client silent between statements as MariaDB 10.11 does at wait_timeout (no packet, the
# connection just ends; a statement running or a client that keeps talking is not idle);
# max_connections is the total of all workers (a dead worker's share is given back), the
# open-files limit is raised at start to fit it or the start fails saying so; failed logins
# from one address are counted across workers, so spreading them over workers does not
# escape auth_failure_delay_ms.
use strict;
use warnings;
use Test::More;
use JSON::PP qw(decode_json);
use Time::HiRes qw(time sleep);
use lib 't/lib';
use Causeway::Test;
use Causeway::Util qw(wait_until spit slurp pid_of_connection);
use Causeway::Wire;

my $t = Causeway::Test->new;
$t->need_proxy('the limits are causewayd\'s');
my $dir = $t->dir;
my $topo = $t->topology(replicas => 0);
my $ctl = $t->root . '/bin/causewayctl';
my $no_replicas = { map { $_->name => undef } $topo->replicas };

sub ctl_json {
    my ($proxy, $what) = @_;
    my $r = $t->run([$ctl, '-c', $proxy->cnf, '--json', $what], timeout => 20);
    return eval { decode_json($r->{out}) } // {};
}
sub counter { my ($proxy, $name) = @_; return ctl_json($proxy, 'counters')->{total}{counters}{$name} // 0 }

sub login {
    my ($proxy, %o) = @_;
    my $w = Causeway::Wire->new(port => $proxy->port, timeout => 10);
    my $r = $w->login(user => 'app', password => $o{password} // 'secret');
    return ($w, $r);
}

# ------------------------------------------------------------------ client_idle_timeout_s
{
    my $cw = $t->causeway(config => { causeway => { client_idle_timeout_s => 1, workers => 2 },
                                      replicas => $no_replicas });
    # What the server itself does at wait_timeout: the same probe straight to the primary.
    my $direct = Causeway::Wire->new(port => $topo->primary->port, timeout => 10);
    is($direct->login(user => 'app', password => 'secret')->{type}, 'ok', 'direct: logged in');
    $direct->query('SET SESSION wait_timeout = 1');
    my ($idle, $r) = login($cw);
    is($r->{type}, 'ok', 'idle client: logged in');
    my $t0 = time;
    my ($n_direct, $n_proxy);
    my $sel = IO::Select->new($idle->sock);
    $sel->can_read(4);
    my $closed_after = time - $t0;
    $n_proxy = sysread($idle->sock, my $bytes, 4096);
    $n_direct = sysread($direct->sock, my $direct_bytes, 4096) if IO::Select->new($direct->sock)->can_read(2);
    ok(!$n_proxy, 'idle client: the connection ends without a packet (' . ($bytes // '') . ')');
    ok(!$n_direct, 'direct: the server also ends it without a packet, as the proxy does');
    cmp_ok($closed_after, '>=', 0.9, sprintf('idle client: not closed before 1 s (%.2f s)', $closed_after));
    cmp_ok($closed_after, '<', 2.5, 'idle client: closed soon after 1 s');
    is(counter($cw, 'idle_timeouts'), 1, 'idle_timeouts counts it');

    # A client that keeps talking, and a statement longer than the timeout, are not idle.
    my ($busy) = login($cw);
    my $alive = 1;
    for (1 .. 8) {
        sleep 0.35;
        my ($res) = $busy->query('SELECT 1');
        $alive &&= $res->{type} eq 'rows';
    }
    ok($alive, 'a client with a statement every 0.35 s stays connected for 2.8 s');
    my ($res) = $busy->query('SELECT SLEEP(2)', 10);
    is($res->{type}, 'rows', 'a 2 s statement is answered, not cut by a 1 s idle timeout');
    ok($busy->closed_within(3), 'and the client is closed once idle after it');

    # A real client: DBD::MariaDB learns it at its next statement (server gone), like directly.
    my $dbh = $t->connect(port => $cw->port);
    ok($dbh && $dbh->do('SELECT 1'), 'DBD::MariaDB: a statement');
    sleep 2;
    my $ok = $dbh->do('SELECT 1');
    ok(!$ok, 'DBD::MariaDB: after 2 s idle its statement fails (' . ($DBI::err // '') . ')');
    like($DBI::err // 0, qr/^(2006|2013)$/, 'DBD::MariaDB: server gone away / lost connection, as from the server');
    is(counter($cw, 'idle_timeouts'), 3, 'idle_timeouts counts each');
    like($t->run([$ctl, '-c', $cw->cnf, 'counters'])->{out}, qr/idle_timeouts\s+3/, 'causewayctl counters shows it');
    $t->stop_causeway($cw);
}

# ------------------------------------------------------------------ max_connections across workers
{
    my $max = 10;
    my $cw = $t->causeway(config => { causeway => { max_connections => $max, workers => 3 },
                                      replicas => $no_replicas });
    my @held;
    for (1 .. $max) {
        my ($w, $r) = login($cw);
        push @held, $w if $r->{type} eq 'ok';
    }
    is(scalar @held, $max, "$max clients log in");
    my $status = ctl_json($cw, 'status');
    my @loaded = grep { $_->{connections_active} > 0 } @{ $status->{workers} // [] };
    note('clients per worker: ' . join(' ', map { $_->{connections_active} } @{ $status->{workers} // [] }));
    my @refused;
    for (1 .. 6) {
        my $w = Causeway::Wire->new(port => $cw->port, timeout => 10);
        my $e = $w->handshake->{error};
        push @refused, $e->{code} if $e;
    }
    is(join(',', @refused), join(',', (1040) x 6), 'all 6 more get ERR 1040, whichever worker takes them');
    is(counter($cw, 'connections_refused'), 6, 'connections_refused counts the 6');
    $held[0]->close;
    shift @held;
    ok(wait_until(sub { my ($w, $r) = login($cw); if ($r->{type} eq 'ok') { push @held, $w; return 1 } 0 },
                  timeout => 5, interval => 0.1), 'one leaves: one more is let in');

    # A worker killed with its clients: the supervisor gives its share back.
    my @workers = $cw->children;
    my $victim = pid_of_connection($cw->port, $held[-1]->local_port, @workers);
    ok($victim, 'found the worker of the last client');
    my $lost = grep { (pid_of_connection($cw->port, $_->local_port, @workers) // 0) == ($victim // -1) } @held;
    $cw->{ignore_log} = qr/\(pid $victim\b.*killed by signal/ if $victim;    # reported loudly, as it should be
    kill 'KILL', $victim if $victim;
    my @again;
    ok(wait_until(sub {
        my ($w, $r) = login($cw);
        push @again, $w if $r->{type} eq 'ok';
        return @again >= $lost;
    }, timeout => 10, interval => 0.2), "the $lost connections of the killed worker are free again");
    $_->close for @held, @again;
    $t->stop_causeway($cw);
}

# ------------------------------------------------------------------ open-files limit
{
    # Started with a soft limit of 256 (hard 4096): raised to what 500 clients need.
    my $wrapper = "$dir/causewayd-256";
    spit($wrapper, "#!/bin/sh\nexec prlimit --nofile=256:4096 " . $t->root . "/bin/causewayd \"\$@\"\n");
    chmod 0755, $wrapper;
    my $cw;
    {
        local $ENV{CAUSEWAY_BIN} = $wrapper;
        $cw = $t->causeway(config => { causeway => { max_connections => 500, workers => 1 },
                                       replicas => $no_replicas });
    }
    my ($soft) = (slurp('/proc/' . $cw->pid . '/limits') // '') =~ /^Max open files\s+(\d+)/m;
    cmp_ok($soft // 0, '>=', 500 * 2 + 64, "started under ulimit -n 256: raised to fit 500 clients ($soft)");
    my @held;
    for (1 .. 300) {
        my ($w, $r) = login($cw);
        last unless $r->{type} eq 'ok';
        push @held, $w;
    }
    is(scalar @held, 300, '300 clients on one worker started with ulimit -n 256');
    $_->close for @held;
    $t->stop_causeway($cw);

    # A hard limit below what max_connections needs: the start fails and says what to change.
    spit("$dir/tight", "#!/bin/sh\nexec prlimit --nofile=256:256 " . $t->root . "/bin/causewayd \"\$@\"\n");
    chmod 0755, "$dir/tight";
    my $r = $t->run(["$dir/tight", '-f', '-c', $cw->cnf], timeout => 20);
    isnt($r->{exit}, 0, 'hard limit 256 for max_connections = 500: causewayd does not start');
    like($r->{err}, qr/max_connections needs 1\d{3} open files .* but the hard limit is 256: raise LimitNOFILE/,
         'and says why, on the terminal');
}

# ------------------------------------------------------------------ failed logins across workers
{
    my $cw = $t->causeway(config => { causeway => { workers => 4, auth_failures_before_delay => 3,
                                                    auth_failure_delay_ms => 700 },
                                      replicas => $no_replicas });
    my (@times, %by_worker);
    my @workers = $cw->children;
    for my $i (1 .. 12) {
        my $w = Causeway::Wire->new(port => $cw->port, timeout => 10);
        my $pid = pid_of_connection($cw->port, $w->local_port, @workers) // 0;
        my $t0 = time;
        my $r = $w->login(user => 'app', password => "wrong$i");
        push @times, time - $t0;
        $by_worker{$pid}++;
        $w->close;
    }
    note(sprintf('failed logins per worker: %s; times %s', join(' ', values %by_worker),
                 join(' ', map { sprintf '%.2f', $_ } @times)));
    cmp_ok(scalar(keys %by_worker), '>=', 2, 'the 12 attempts were spread over workers');
    ok(!grep({ $_ > 0.5 } @times[0 .. 2]), 'the first 3 failures are answered at once');
    is(scalar(grep { $_ >= 0.65 } @times[3 .. 11]), 9, 'each of the 9 attempts after them waits 700 ms, whatever worker');
    my ($w, $r) = login($cw);
    is($r->{type}, 'ok', 'the right password still logs in (late)');
    cmp_ok(counter($cw, 'auth_delays'), '>=', 10, 'auth_delays counts them');
    $w->close;
    $t->stop_causeway($cw);
}

$t->done;
