# The limits of the backend pool (issue 12 items 2 and 6):
# - max_backend_connections_per_server counts server connections across both workers: a
#   client beyond it waits pool_wait_ms, then gets ERR 1040 08004 naming the server (a login
#   is closed, a command's client stays); a connection freed by another client lets a waiting
#   one in; the servers never see more; causewayctl shows the counts and the refusals.
# - pool_ping_after_s: a pooled connection that died without a word (its network path went
#   silent: a relay here stops forwarding idle connections) is checked with COM_PING before
#   reuse, dropped, and the client gets a fresh login without an error.
# - A pooled connection KILLed on the server is never handed out.
# - A reload and workers killed with SIGKILL leave no server connection behind (the servers'
#   own process lists) and no count: the limit still admits new clients.
# - pool_change_user: another user's pooled connection is switched with one COM_CHANGE_USER
#   (no server login) and shows none of the previous user's state; writes stay tracked.
use strict;
use warnings;
use Test::More;
use IO::Select;
use IO::Socket::INET;
use JSON::PP qw(decode_json);
use POSIX ();
use Time::HiRes qw(time sleep);
use lib 't/lib';
use Causeway::Test;
use Causeway::Util qw(wait_until slurp);
use Causeway::Wire;

my $t = Causeway::Test->new;
$t->need_proxy('limits of a proxy-side pool');
my $topo = $t->topology;
my $primary = $topo->primary;
$primary->sql('CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)');
$primary->sql('INSERT INTO test.t SELECT seq, 0 FROM test.seq_1_to_10');
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');
my $ctl = $t->root . '/bin/causewayctl';

# Server connections of the application users on a server (the monitor and replication
# users excluded), from its own process list.
sub app_connections {
    my ($server) = @_;
    return $server->value("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER IN ('app', 'app2')");
}
sub ctl_json {
    my ($cw, @args) = @_;
    my $r = $t->run([$ctl, '-c', $cw->cnf, '--json', @args], timeout => 20);
    my $j = eval { decode_json($r->{out}) };
    diag("causewayctl --json @args: exit $r->{exit}: $r->{err}") unless $j;
    return $j // {};
}
sub counter { my ($cw, $name) = @_; return ctl_json($cw, 'counters')->{total}{counters}{$name} }
# Server connections causewayctl counts, all servers (the primary role's entry has none of its own).
sub counted {
    my ($cw) = @_;
    my $n = 0;
    $n += $_->{connections} // 0 for @{ ctl_json($cw, 'replicas')->{backends} // [] };
    return $n;
}
sub workers { my ($cw) = @_; return grep { (slurp("/proc/$_/comm") // '') =~ /causeway-work/ } $cw->children }
sub serves {
    my ($port) = @_;
    my $h = $t->connect(port => $port);
    my $ok = $h && $h->selectrow_array('SELECT 1');
    $h->disconnect if $h;
    return $ok;
}

# ---- max_backend_connections_per_server ------------------------------------------------
my $limit = 4;
my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', workers => 2,
                                                max_backend_connections_per_server => $limit,
                                                pool_wait_ms => 700 } });
ok(wait_until(sub { my $r = ctl_json($cw, 'replicas'); grep { $_->{usable} } @{ $r->{backends} // [] } },
              timeout => 15, interval => 0.1), 'the poller reports the servers');
# Clients that name a database log in to the primary at once: $limit of them fill it.
my @held = map { $t->connect } 1 .. $limit;
is(scalar(grep { defined } @held), $limit, "$limit clients connected");
is(app_connections($primary), $limit, "the primary has $limit application connections");
my $t0 = time;
my $over = $t->connect;
my ($err, $errstr) = ($DBI::err, $DBI::errstr // '');
my $took = time - $t0;
ok(!$over, 'one more client is refused');
is($err, 1040, '... with ERR 1040');
like($errstr, qr/Too many connections.*backend 'primary' \(127\.0\.0\.1:\d+\)/, '... naming the server')
    or diag($errstr);
cmp_ok($took, '>=', 0.6, sprintf('... after waiting pool_wait_ms (%.3f s)', $took));
cmp_ok($took, '<', 3, '... and not much longer');
is(app_connections($primary), $limit, 'the primary never saw more than the limit');

# A client waiting for a place gets the one a leaving client frees (on its worker or the other).
my $pid = fork // die "fork: $!";
if ($pid == 0) {
    my $h = $t->connect;
    my ($v) = $h ? $h->selectrow_array('SELECT v FROM t WHERE id = 1 FOR UPDATE') : ();
    POSIX::_exit(defined $v ? 0 : 1);
}
$t->track($pid);
sleep 0.2;
(shift @held)->disconnect;
waitpid($pid, 0);
is($? >> 8, 0, 'a waiting client is served once another leaves');

# A command (not a login) waits the same way; its client stays connected after the ERR. A raw
# client that names no database logs in without a server connection (drivers send SETs).
my $nodb = Causeway::Wire->new(port => $cw->port);
is($nodb->login(user => 'app', password => 'secret')->{type}, 'ok', 'a client without a database logs in');
@held = grep { defined } @held;
while (@held < $limit) { my $h = $t->connect or last; push @held, $h }
is(scalar @held, $limit, "$limit clients hold the primary's connections again");
$t0 = time;
my ($r) = $nodb->query('UPDATE test.t SET v = v + 1 WHERE id = 2');
is($r->{type}, 'err', 'its write waits, then is refused');
is($r->{code}, 1040, '... with ERR 1040') or diag(explain $r);
cmp_ok(time - $t0, '>=', 0.6, '... after pool_wait_ms');
(pop @held)->disconnect;
($r) = $nodb->query('UPDATE test.t SET v = v + 1 WHERE id = 2');
is($r->{type}, 'ok', '... and the same connection writes once there is room') or diag(explain $r);
my ($pj) = grep { $_->{name} eq 'primary' && defined $_->{connections} } @{ ctl_json($cw, 'replicas')->{backends} };
is($pj->{connections}, app_connections($primary),
   "causewayctl replicas shows the primary's connections (" . ($pj->{connections} // 'none') . ')');
cmp_ok(counter($cw, 'limit_refusals'), '>=', 2, 'causewayctl counts the refusals');
cmp_ok(counter($cw, 'limit_waits'), '>=', 3, '... and the waits');
$_->disconnect for @held;
$nodb->close;
@held = ();

# Workers killed with connections open: the server sees them go, the count goes with them.
my @conns = map { $t->connect } 1 .. $limit;
ok(wait_until(sub { app_connections($primary) == $limit }, timeout => 5), "$limit connections open");
my @before = workers($cw);
$cw->{ignore_log} = qr/killed by signal Killed/;    # the supervisor reports the kill loudly
kill 'KILL', @before;
ok(wait_until(sub { app_connections($primary) == 0 }, timeout => 10),
   'workers killed with SIGKILL: the servers show none of their connections');
ok(wait_until(sub { my @w = workers($cw); @w == 2 && !grep { my $p = $_; grep { $_ == $p } @before } @w },
              timeout => 10), 'both workers respawned');
ok(wait_until(sub { serves($cw->port) }, timeout => 10), 'the limit admits new clients: the dead workers left no count');
@conns = ();
my @again = map { $t->connect } 1 .. $limit;
is(scalar(grep { defined } @again), $limit, "$limit clients at once again");
$_->disconnect for grep { defined } @again;
$t->stop_causeway($cw);
ok(wait_until(sub { !grep { app_connections($_) } $topo->servers }, timeout => 10),
   'after the stop, no server holds an application connection');

# ---- pool_ping_after_s: a pooled connection dead without a word --------------------------
# A relay in front of the primary; on SIGUSR1 it stops forwarding (and closing) every
# connection idle for more than 0.5 s, as a network path that went away would. The poller's
# connection is never that idle.
sub start_relay {
    my ($to) = @_;
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 128, ReuseAddr => 1)
        or die "relay listen: $!";
    my $port = $listen->sockport;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $SIG{$_} = 'DEFAULT' for qw(TERM INT);    # not the harness's clean-up
        my $freeze = 0;
        $SIG{USR1} = sub { $freeze = 1 };
        my $sel = IO::Select->new($listen);
        my (%peer, %last, %frozen, %sock);
        while (1) {
            if ($freeze) {
                $freeze = 0;
                my $now = time;
                for my $fd (keys %sock) { $frozen{$fd} = 1 if $now - $last{$fd} > 0.5 }
            }
            for my $s ($sel->can_read(0.05)) {
                if ($s == $listen) {
                    my $c = $listen->accept or next;
                    my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $to) or do { close $c; next };
                    my ($cf, $uf) = (fileno $c, fileno $u);
                    @sock{ $cf, $uf } = ($c, $u);
                    @peer{ $cf, $uf } = ($uf, $cf);
                    $last{$cf} = $last{$uf} = time;
                    $sel->add($c, $u);
                    next;
                }
                my $fd = fileno $s;
                next unless defined $fd;    # closed above in this round, with its peer
                my $n = sysread($s, my $buf, 65536);
                my $p = $peer{$fd};
                if (!$n) {
                    for my $x ($fd, $p) {
                        next unless defined $x && $sock{$x};
                        $sel->remove($sock{$x});
                        close $sock{$x};
                        delete $sock{$x}; delete $frozen{$x}; delete $peer{$x};    # its number is reused
                    }
                    next;
                }
                next if $frozen{$fd} || $frozen{$p};
                syswrite($sock{$p}, $buf) if $sock{$p};
                $last{$fd} = $last{$p} = time;
            }
        }
    }
    $t->track($pid);
    return ($pid, $port);
}
my ($relay, $relay_port) = start_relay($primary->port);
my $cw2 = $t->causeway(config => { causeway => { mode => 'smartscale', workers => 1, pool_ping_after_s => 1,
                                                 connect_timeout_ms => 500 },
                                   primary => { address => "127.0.0.1:$relay_port" } });
ok(wait_until(sub { my $h = $t->connect(port => $cw2->port); my $ok = $h && $h->do('UPDATE t SET v = 0 WHERE id = 5');
                    $h->disconnect if $h; $ok }, timeout => 15, interval => 0.1), 'writes go through the relay');
my $a = $t->connect(port => $cw2->port);
my ($a_thread) = $a->selectrow_array('SELECT CONNECTION_ID() FROM t WHERE id = 1 FOR UPDATE');
$a->disconnect;
sleep 1.5;    # pooled, idle past pool_ping_after_s
kill 'USR1', $relay;
sleep 0.2;
my $pings = counter($cw2, 'pool_pings');
$t0 = time;
my $b = $t->connect(port => $cw2->port, read_timeout => 5);
my ($b_thread) = $b ? $b->selectrow_array('SELECT CONNECTION_ID() FROM t WHERE id = 1 FOR UPDATE') : ();
my $b_err = $b ? $b->errstr : $DBI::errstr;
ok(defined $b_thread, 'the next client is served without an error') or diag($b_err);
isnt($b_thread // $a_thread, $a_thread, '... on a fresh server connection');
diag(sprintf('login + first query took %.3f s (the check waited connect_timeout_ms = 500)', time - $t0));
is(counter($cw2, 'pool_pings') - $pings, 1, 'the pooled connection was checked with COM_PING');
is(counter($cw2, 'pool_dead'), 1, '... and found dead');
$b->disconnect if $b;

# KILL on the server while pooled: the worker reads the end of it and never hands it out.
my $c = $t->connect(port => $cw2->port);
my ($c_thread) = $c->selectrow_array('SELECT CONNECTION_ID() FROM t WHERE id = 1 FOR UPDATE');
$c->disconnect;
ok(wait_until(sub { $primary->value("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = $c_thread") },
              timeout => 5), "the client's server connection (thread $c_thread) stays, pooled");
$primary->sql("KILL $c_thread");
sleep 0.1;
my $d = $t->connect(port => $cw2->port);
my ($d_thread) = $d ? $d->selectrow_array('SELECT CONNECTION_ID() FROM t WHERE id = 1 FOR UPDATE') : ();
ok(defined $d_thread, 'after a KILL of the pooled connection the next client is served without an error')
    or diag($d ? $d->errstr : $DBI::errstr);
isnt($d_thread // $c_thread, $c_thread, '... not on the killed connection');
$d->disconnect if $d;
$t->stop_causeway($cw2);
kill 'TERM', $relay;
waitpid($relay, 0);

# ---- reload: the old generation's pooled connections are closed --------------------------
my $cw3 = $t->causeway(config => { causeway => { mode => 'smartscale', workers => 2 } });
ok(wait_until(sub { serves($cw3->port) }, timeout => 15, interval => 0.1), 'a third instance serves');
for (1 .. 20) {
    my $h = $t->connect(port => $cw3->port);
    $h->selectrow_array('SELECT v FROM t WHERE id = 1');
    $h->disconnect;
}
my $pooled = app_connections($primary);
cmp_ok($pooled, '>', 0, "its pools hold server connections ($pooled on the primary)");
is(counted($cw3), app_connections($primary) + app_connections($topo->replica(0)) + app_connections($topo->replica(1)),
   'causewayctl counts what the servers show');
my @old = workers($cw3);
kill 'HUP', $cw3->pid;
ok(wait_until(sub { my @w = workers($cw3); @w == 2 && !grep { my $p = $_; grep { $_ == $p } @old } @w },
              timeout => 15), 'a reload replaced both workers');
ok(wait_until(sub { !grep { app_connections($_) } $topo->servers }, timeout => 10),
   'after the reload no server holds an application connection (the old pools were emptied)')
    or diag(join ', ', map { $_->name . ': ' . app_connections($_) } $topo->servers);
is(counted($cw3), 0, '... and causewayctl counts none');
$t->stop_causeway($cw3);

# ---- pool_change_user: another user's pooled connection, switched with COM_CHANGE_USER ---
my $cw4 = $t->causeway(config => { causeway => { mode => 'smartscale', workers => 1, pool_change_user => 'on' } });
ok(wait_until(sub { serves($cw4->port) }, timeout => 15, interval => 0.1), 'an instance with pool_change_user serves');
my $u1 = $t->connect(port => $cw4->port);
my ($u1_thread) = $u1->selectrow_array('SELECT CONNECTION_ID() FROM t WHERE id = 1 FOR UPDATE');
$u1->do($_) for ('SET @x = 42', "SET SESSION sql_mode = 'ANSI'", 'CREATE TEMPORARY TABLE tt (a INT)');
$u1->disconnect;
my $logins = sub { $primary->value("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'CONNECTIONS'") };
my $l0 = $logins->();
my $u2 = $t->connect(port => $cw4->port, user => 'app2', password => 'secret2');
my $fresh = $t->connect(port => $primary->port, user => 'app2', password => 'secret2');
my $q = 'SELECT CONNECTION_ID(), CURRENT_USER(), @x, @@sql_mode FROM t WHERE id = 1 FOR UPDATE';
my @got = $u2 ? $u2->selectrow_array($q) : ();
my @want = $fresh->selectrow_array($q);
is($logins->() - $l0, 1, 'no login on the primary for the other user (the one counted is the direct comparison)');
is($got[0], $u1_thread, "app2 got app's pooled connection (thread $u1_thread)");
like($got[1] // '', qr/^app2@/, '... switched to app2 (COM_CHANGE_USER)');
is_deeply([ @got[ 2, 3 ] ], [ @want[ 2, 3 ] ], "... with none of app's user variables or session variables")
    or diag(explain { got => \@got, fresh => \@want });
ok(!$u2->do('SELECT * FROM tt'), "... nor its temporary table");
is($u2->err, 1146, '... ERR 1146');
is(counter($cw4, 'pool_user_changes'), 1, 'causewayctl counts the change');
$_->stop_sql_thread for $topo->replicas;
my $stale = 0;
for my $i (1 .. 10) {
    $u2->do("UPDATE t SET v = $i WHERE id = 3");
    my ($v) = $u2->selectrow_array('SELECT v FROM t WHERE id = 3');
    $stale++ unless ($v // -1) == $i;
}
is($stale, 0, "its writes are tracked after the change: read back at once with lagging replicas (0 stale of 10)");
$_->start_sql_thread for $topo->replicas;
$u2->disconnect;
$fresh->disconnect;
ok($topo->wait_for_replicas(30), 'replicas catch up');
$t->done;
