# Failures and odd commands through the proxy, with the raw client (Causeway::Wire):
# COM_FIELD_LIST, COM_SET_OPTION, COM_RESET_CONNECTION, COM_PING, COM_STATISTICS, COM_INIT_DB,
# COM_QUIT; malformed client packets (ERR or close, never a crash); a client that disconnects
# mid-result (its backend connection goes away); the primary killed mid-session (writes get
# an ERR naming the state, reads are served by replicas, the connection stays and writes
# again once the primary is back); the primary down before a client connects (it logs in and
# reads; writes get ERR 1290 naming the last primary, quickly).
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use Socket qw(SHUT_WR);
use POSIX ();
use lib 't/lib';
use Causeway::Test;
use Causeway::Wire qw(COM_FIELD_LIST COM_SET_OPTION COM_RESET_CONNECTION COM_PING
  COM_STATISTICS COM_INIT_DB COM_QUIT COM_QUERY);

my $t = Causeway::Test->new;
my $topo = $t->topology;
my $p = $topo->primary;
my $cw = $t->causeway;
my $port = $cw->port;

$p->sql('CREATE TABLE test.kv (id INT PRIMARY KEY, name VARCHAR(20), v INT)');
$p->sql("INSERT INTO test.kv VALUES (1, 'a', 10), (2, 'b', 20)");

# Runs a block; a die inside (e.g. a login that fails) is one failed assertion, not the end
# of the test file.
sub section {
    my ($name, $code) = @_;
    eval { $code->(); 1 } or fail("$name: died: $@");
}

sub client {
    my (%o) = @_;
    my $w = Causeway::Wire->new(port => $o{port} // $port, timeout => 10);
    my $r = $w->login(user => 'app', password => 'secret', db => 'test');
    die "login failed: " . ($r->{message} // $r->{type}) . "\n" unless $r->{type} eq 'ok';
    return $w;
}

sub value {
    my ($w, $sql) = @_;
    my ($r) = $w->query($sql);
    return $r->{type} eq 'rows' ? $r->{rows}[0][0] : "($r->{type}: " . ($r->{message} // '') . ')';
}

sub err_or_close {    # the response to a bad packet: 'err', 'closed', or what else came
    my ($w, $timeout) = @_;
    my $r = $w->read_response($timeout // 5);
    return $r->{type} eq 'err' || $r->{type} eq 'closed' ? 'err or close' : "$r->{type}";
}

# ------------------------------------------------------------------ commands
section('commands', sub {
    my $w = client();
    $w->command(COM_FIELD_LIST, "kv\0");
    my (@names, $end);
    for (1 .. 10) {
        my $pk = $w->read_packet // last;
        if (ord($pk) == 0xfe && length $pk < 9) { $end = 'eof'; last }
        if (ord($pk) == 0xff) { $end = 'err'; last }
        my $pos = 0;
        my $name;
        for (1 .. 5) {
            my $len = ord substr($pk, $pos, 1);
            $name = substr($pk, $pos + 1, $len);
            $pos += 1 + $len;
        }
        push @names, $name;
    }
    is(join(',', @names), 'id,name,v', 'COM_FIELD_LIST returns the table\'s columns');
    is($end, 'eof', 'COM_FIELD_LIST ends with EOF');
    $w->command(COM_FIELD_LIST, "kv\0na%");
    my $pk = $w->read_packet;
    my $eof = $w->read_packet;
    ok($pk && $pk =~ /name/ && $eof && ord($eof) == 0xfe, 'COM_FIELD_LIST with a wildcard');
    is(value($w, 'SELECT 1'), 1, 'the connection works after COM_FIELD_LIST');

    $w->command(COM_SET_OPTION, pack('v', 1));    # MYSQL_OPTION_MULTI_STATEMENTS_OFF
    my $r = $w->read_response;
    like($r->{type}, qr/^(eof|ok)$/, 'COM_SET_OPTION MULTI_STATEMENTS_OFF is acknowledged');
    my @res = $w->query('SELECT 1; SELECT 2');
    is($res[0]{type} . ' ' . ($res[0]{code} // ''), 'err 1064',
       'with multi-statements off, "SELECT 1; SELECT 2" is a syntax error');
    $w->command(COM_SET_OPTION, pack('v', 0));    # MYSQL_OPTION_MULTI_STATEMENTS_ON
    $r = $w->read_response;
    like($r->{type}, qr/^(eof|ok)$/, 'COM_SET_OPTION MULTI_STATEMENTS_ON is acknowledged');
    @res = $w->query('SELECT 1; SELECT 2');
    is(join(',', map { $_->{type} eq 'rows' ? $_->{rows}[0][0] : $_->{type} } @res), '1,2',
       'with multi-statements on, both results come back');

    @res = $w->query("SET \@v = 'kept'; CREATE TEMPORARY TABLE tmp1 (a INT)");
    is(value($w, 'SELECT @v'), 'kept', 'a session variable is set');
    $w->command(COM_RESET_CONNECTION);
    $r = $w->read_response;
    is($r->{type}, 'ok', 'COM_RESET_CONNECTION returns OK');
    is(value($w, 'SELECT @v IS NULL'), 1, 'COM_RESET_CONNECTION cleared the session variable');
    @res = $w->query('SELECT * FROM tmp1');
    is($res[0]{code}, 1146, 'COM_RESET_CONNECTION dropped the temporary table');
    is(value($w, 'SELECT DATABASE()'), 'test', 'COM_RESET_CONNECTION keeps the database');

    $w->command(COM_PING);
    is($w->read_response->{type}, 'ok', 'COM_PING returns OK');
    $w->command(COM_STATISTICS);
    my $stat = $w->read_packet;
    like($stat // '', qr/^Uptime: \d+\s+Threads: \d+\s+Questions: \d+/, 'COM_STATISTICS returns the status string');
    $w->command(COM_INIT_DB, 'mysql');
    is($w->read_response->{type}, 'ok', 'COM_INIT_DB returns OK');
    is(value($w, 'SELECT DATABASE()'), 'mysql', 'COM_INIT_DB changed the database');
    $w->command(COM_INIT_DB, 'nosuchdb');
    $r = $w->read_response;
    is("$r->{type} " . ($r->{code} // ''), 'err 1049', 'COM_INIT_DB to an unknown database gives ERR 1049');
    is(value($w, 'SELECT 5'), 5, 'the connection works after that error');
    $w->command(COM_QUIT);
    ok($w->closed_within(5), 'COM_QUIT closes the connection');
});

# ------------------------------------------------------------------ malformed packets
my @kids = $cw->direct ? () : $cw->children;
my @malformed = (
    ['a command with a wrong sequence id', sub { $_[0]->send_packet("\x03SELECT 1", 5) }],
    ['a zero-length packet', sub { $_[0]->send_raw("\0\0\0\0") }],
    ['an unknown command byte', sub { $_[0]->command(0xee, 'xyz') }],
    ['COM_STMT_EXECUTE of an unknown statement', sub { $_[0]->command(0x17, pack('VCV', 12345, 0, 1)) }],
    ['a truncated COM_STMT_EXECUTE', sub { $_[0]->command(0x17, "\x01") }],
    ['COM_STMT_FETCH of an unknown statement', sub { $_[0]->command(0x1c, pack('VV', 999, 1)) }],
    ['COM_CHANGE_USER with a garbage body', sub { $_[0]->command(0x11, "\xff" x 40) }],
);
for my $m (@malformed) {
    my ($what, $send) = @$m;
    section($what, sub {
    my $w = client();
    $send->($w);
    is(err_or_close($w), 'err or close', "$what: ERR or close");
    $w->close;
    });
}
my @cut = (
    ['a truncated header, then close', sub { $_[0]->send_raw("\x05\x00") }],
    ['a packet shorter than its length, then close', sub { $_[0]->send_raw("\xe8\x03\x00\x00\x03SEL") }],
    ['a 16 MiB length with 10 bytes, then close', sub { $_[0]->send_raw("\xff\xff\xff\x00\x03SELECT 1 ") }],
);
for my $m (@cut) {
    my ($what, $send) = @$m;
    section($what, sub {
    my $w = client();
    $send->($w);
    shutdown($w->sock, SHUT_WR);
    ok($w->closed_within(5), "$what: the connection is closed");
    $w->close;
    });
}
my @prelogin = (
    ['garbage instead of the handshake response', sub { $_[0]->send_packet(join('', map { chr(($_ * 37) & 0xff) } 1 .. 40), 1) }],
    ['a 5-byte handshake response', sub { $_[0]->send_packet("\x85\xa6\x0f\x00\x00", 1) }],
    ['a handshake response without a user name terminator', sub {
        $_[0]->send_packet(pack('VVC', 0x000fa68d, 1 << 24, 45) . ("\0" x 23) . ('u' x 50), 1) }],
    ['a handshake response with an auth length past the end', sub {
        $_[0]->send_packet(pack('VVC', 0x000fa68d, 1 << 24, 45) . ("\0" x 23) . "app\0\xfc\xff\xff", 1) }],
    ['a zero-length handshake response', sub { $_[0]->send_raw("\0\0\0\x01") }],
);
for my $m (@prelogin) {
    my ($what, $send) = @$m;
    my $w = Causeway::Wire->new(port => $port, timeout => 10);
    $send->($w);
    is(err_or_close($w), 'err or close', "before login, $what: ERR or close");
    $w->close;
}
section('pre-login truncated header', sub {
    my $w = Causeway::Wire->new(port => $port, timeout => 10);
    $w->send_raw("\x20\x00");
    shutdown($w->sock, SHUT_WR);
    ok($w->closed_within(5), 'before login, a truncated header then close: the connection is closed');
});
section('after malformed packets', sub {
    is(value(client(), 'SELECT 42'), 42, 'after the malformed packets a new client is served');
});
unless ($cw->direct) {
    ok($cw->is_running, 'causewayd is still running');
    is(join(' ', $cw->children), join(' ', @kids), 'no causewayd child died (same pids)');
    $t->log_is_clean($cw, 'after malformed packets');
}

# ------------------------------------------------------------------ client gone mid-result
sub thread_alive {
    my ($id) = @_;
    return $p->value('SELECT COUNT(*) FROM information_schema.processlist WHERE id = ?', $id);
}
section('raw client gone mid-result', sub {
    my $w = client();
    my $id = value($w, 'SELECT CONNECTION_ID()');
    like($id, qr/^\d+$/, 'the backend connection id');
    $w->command(COM_QUERY, "SELECT /* midresult-raw */ REPEAT('x', 1000) FROM seq_1_to_10000000");
    my $got = $w->discard_bytes(2_000_000, 10);
    cmp_ok($got, '>=', 2_000_000, 'the raw client got the first 2 MB of a 10 GB result');
    is(thread_alive($id), 1, 'its backend connection is on the primary');
    $w->close;
    ok(wait_until(sub { !thread_alive($id) }, timeout => 5),
       'after the raw client closes mid-result, its backend connection leaves the primary\'s processlist within 5 s');
});
section('CLI killed mid-result', sub {
    my $out = $t->dir . '/cli-mid.out';
    my $pid = $t->spawn_bg(['mariadb', '--no-defaults', '-h127.0.0.1', "-P$port", '-uapp', '-psecret',
                            '--quick', '--comments', '-N', '-B', '-e',
                            "SELECT /* midresult-cli */ REPEAT('y', 1000) FROM seq_1_to_10000000", 'test'],
                           stdout => '/dev/null', stderr => $out);
    my $id;
    wait_until(sub {
        $id = $p->value("SELECT id FROM information_schema.processlist WHERE info LIKE '%midresult-cli%' "
                        . "AND info NOT LIKE '%processlist%'");
        return defined $id;
    }, timeout => 10);
    ok($id, 'the CLI\'s query runs on the primary');
    sleep 0.3;
    kill 'KILL', $pid;
    reap($pid, 5);
    ok($id && wait_until(sub { !thread_alive($id) }, timeout => 5),
       'after the CLI is killed with SIGKILL mid-result, its backend connection leaves the processlist within 5 s');
});

# ------------------------------------------------------------------ primary killed mid-statement (PyMySQL)
# The ERR for a backend lost mid-statement must carry the sequence id the client expects
# (PyMySQL checks it: "Packet sequence number wrong" instead of the error before the fix).
SKIP: {
    my $py = $t->python;
    skip('PyMySQL is not installed', 4) unless $py && !$cw->direct;
    my $out = $t->dir . '/pymysql-lost.out';
    my $pid = $t->spawn_bg([$py, '-c', <<"PY"], stdout => $out, stderr => $out);
import pymysql
c = pymysql.connect(host='127.0.0.1', port=$port, user='app', password='secret', database='test')
try:
    c.cursor().execute('SELECT /* lost-mid-statement */ SLEEP(30)')
    print('no error')
except pymysql.MySQLError as e:
    print('error', e.args[0], e.args[1] if len(e.args) > 1 else '')
PY
    my $id;
    wait_until(sub {
        $id = $p->value("SELECT id FROM information_schema.processlist WHERE info LIKE '%lost-mid-statement%' "
                        . "AND info NOT LIKE '%processlist%'");
        return defined $id;
    }, timeout => 10);
    ok($id, "PyMySQL's SLEEP runs on the primary");
    $p->kill9;
    reap($pid, 10);
    my $said = slurp($out) // '';
    like($said, qr/^error 9002 Lost connection to (backend 'primary'|the primary)/m,
         "PyMySQL gets ERR 9002 naming the primary ($said)");
    unlike($said, qr/sequence/i, 'not a packet sequence error');
    $p->start;
    ok($topo->wait_for_replicas(20), 'replicas reconnect to the restarted primary');
    # The poller sees the primary writable again within a health interval.
    wait_until(sub { my $c = eval { client() } or return 0; my $v = value($c, 'SELECT 1'); return defined $v && $v eq '1' },
               timeout => 10, interval => 0.2);
}

# ------------------------------------------------------------------ primary read-only for a moment
# Issue 10 item 2: an autocommit write that arrives while the primary is read-only (a
# switchover under way) waits for a writable primary instead of failing, whether it reached
# the server before the poller saw read_only (refused there, run again) or after.
SKIP: {
    skip('only a proxy can hold a write', 3) if $cw->direct;
    section('primary read-only for a moment', sub {
        my $w = client();
        $p->sql('SET GLOBAL read_only = 1');
        my $t0 = time;
        my $pid = fork // die "fork: $!";
        if ($pid == 0) { sleep 0.5; $p->sql('SET GLOBAL read_only = 0'); POSIX::_exit(0) }
        my ($r) = $w->query("INSERT INTO kv VALUES (9, 'ro', 90)", 15);
        my $took = time - $t0;
        reap($pid, 10);
        is($r->{type}, 'ok', 'the write succeeds once the primary is writable again')
            or diag("$r->{type}: " . ($r->{message} // ''));
        cmp_ok($took, '<', 5, sprintf('... after %.2f s, within switchover_wait_ms', $took));
        is($p->value('SELECT v FROM test.kv WHERE id = 9'), 90, 'the row is on the primary, once');
        $p->sql('DELETE FROM test.kv WHERE id = 9');
    });
}

# ------------------------------------------------------------------ primary killed mid-session
# Issue 10: clients of a dead primary keep their connections. A write gets an ERR naming the
# state at once (never a hang), a read a replica can serve is served, and when the primary is
# back the same connections write again, without a reload.
section('primary killed mid-session', sub {
    my $busy = client();
    my $idle = client();
    is(value($busy, 'SELECT 1'), 1, 'a session works before the primary dies');
    $p->kill9;
    my $t0 = time;
    my ($r) = $busy->query("INSERT INTO kv VALUES (3, 'c', 30)", 15);
    is($r->{type}, 'err', 'a write after the primary is killed gets an ERR');
    cmp_ok(time - $t0, '<', 10, '... within 10 s');
    note("error after the kill: $r->{type} " . ($r->{code} // '') . ' ' . ($r->{message} // ''));
    SKIP: {
        skip('direct to the server: the connection is gone', 4) if $cw->direct;
        # Once the poller has seen it (a health interval), the ERR says why at once.
        my $state;
        wait_until(sub {
            ($r) = $busy->query("INSERT INTO kv VALUES (3, 'c', 30)", 15);
            $state = $r;
            return ($r->{message} // '') =~ /no primary/;
        }, timeout => 10, interval => 0.2);
        is($state->{code}, 1290, 'then writes get ERR 1290 at once');
        like($state->{message}, qr/^Causeway: no primary: the primary 'primary' \(\Q${\ $p->address}\E\) is down/,
             'naming the state and the last primary');
        # Bridge mode sends reads to the primary too (t/45 has smartscale reads with no primary).
        like(value($busy, 'SELECT COUNT(*) FROM kv'), qr/^\(err: Causeway: no primary/,
             'bridge mode: a read gets the same ERR, and the connection stays');
        like(value($idle, 'SELECT COUNT(*) FROM kv'), qr/^\(err: Causeway: no primary/, '... the idle client too');
    }
    $p->start;
    ok($topo->wait_for_replicas(20), 'replicas reconnect to the restarted primary');
    SKIP: {
        skip('direct to the server: the connections are gone', 2) if $cw->direct;
        my $wrote = wait_until(sub {
            my ($w) = $busy->query("INSERT INTO kv VALUES (3, 'c', 30)", 15);
            return $w->{type} eq 'ok';
        }, timeout => 10, interval => 0.2);
        ok($wrote, 'the same connection writes once the primary is back (no reload)');
        is(value($idle, 'SELECT COUNT(*) FROM kv'), 3, 'and the idle one reads that write');
        $p->sql('DELETE FROM test.kv WHERE id = 3');
        ok($topo->wait_for_replicas(20), 'replicas apply the clean-up');
    }
    my $w = eval { client() };
    ok($w, 'a new connection after restarting the primary logs in') or diag($@);
    is($w && value($w, 'SELECT COUNT(*) FROM kv'), 2, 'and reads');
});

# ------------------------------------------------------------------ primary down before connecting
# Issue 10 item 4: with no primary, a client still logs in (bridge mode: its reads get the
# ERR too); writes get the documented ERR at once, naming the state and the last primary.
SKIP: {
    skip('the primary is down: only a proxy can answer with an ERR (CAUSEWAY_TEST_DIRECT)', 10) if $cw->direct;
    $p->stop;
    my $addr = $p->address;
    wait_until(sub {
        my $c = eval { client() } or return 0;
        my ($r) = $c->query("INSERT INTO kv VALUES (4, 'd', 40)", 15);
        return ($r->{message} // '') =~ /no primary/;
    }, timeout => 10, interval => 0.2);
    my $t0 = time;
    my $w = Causeway::Wire->new(port => $port, timeout => 15);
    my $r = $w->login(user => 'app', password => 'secret', db => 'test');
    is($r->{type}, 'ok', 'with the primary down, a client logs in');
    like(value($w, 'SELECT COUNT(*) FROM kv'), qr/^\(err: Causeway: no primary/, 'bridge mode: a read gets the ERR');
    ($r) = $w->query("INSERT INTO kv VALUES (4, 'd', 40)", 15);
    my $took = time - $t0;
    is($r->{type}, 'err', 'a write gets an ERR');
    is($r->{code}, 1290, '... ERR 1290');
    like($r->{message} // '', qr/primary 'primary' \(\Q$addr\E\) is down/, "naming the primary and its address $addr");
    cmp_ok($took, '<', 5, 'the ERR comes within 5 s (not a hang)');
    note("ERR $r->{code} ($r->{state}): $r->{message}") if $r->{type} eq 'err';

    my $cli = $t->mariadb(['-e', "insert into kv values (4, 'd', 40)"]);
    isnt($cli->{exit}, 0, 'mariadb CLI: a write fails with the primary down');
    like($cli->{err}, qr/ERROR 1290 .*primary 'primary' \(\Q$addr\E\) is down/,
         'mariadb CLI shows the ERR naming the primary and its address');
    $cli = $t->mariadb(['--default-auth=client_ed25519', '-e', "insert into kv values (4, 'd', 40)"]);
    like($cli->{err}, qr/ERROR 1290 .*primary 'primary' \(\Q$addr\E\) is down/,
         'after an auth switch, mariadb CLI shows the same ERR (not a malformed packet)');

    $p->start;
    ok($topo->wait_for_replicas(20), 'replicas catch up after the primary is back');
    section('primary back', sub {
        my $x;
        ok(wait_until(sub { ($x) = $w->query('SELECT 7', 15); $x->{type} eq 'rows' }, timeout => 10),
           'the client of the outage still works') or diag("$x->{type}: " . ($x->{message} // ''));
        is(value(client(), 'SELECT 7'), 7, 'a new connection works once the primary is back');
    });
}

# A client that sends commands the proxy answers itself, back to back, without reading the
# answers (issue 9: 222 MiB in 2.5 s before): its output is bounded like the relay's.
SKIP: {
    skip('measures causewayd', 2) if $cw->direct;
    my $w = client();
    is(value($w, 'SELECT 1'), 1, 'ping flood: the client works');
    $w->command(COM_RESET_CONNECTION);
    $w->read_all(10);
    my $cw_flood = $t->causeway(config => { causeway => { workers => 1 } });
    my $f = Causeway::Wire->new(port => $cw_flood->port, timeout => 10, rcvbuf => 4096);
    $f->login(user => 'app', password => 'secret');
    my $pid = pid_of_connection($cw_flood->port, $f->local_port, $cw_flood->children);
    my $rss0 = vm_rss_kb($pid) // 0;
    my $ping = pack('V', 1) . chr(COM_PING);
    my $sent = 0;
    my $t0 = time;
    # Non-blocking writes: once the proxy stops reading, the socket fills and this stops too.
    $f->sock->blocking(0);
    while (time - $t0 < 3) {
        my $n = syswrite($f->sock, $ping x 2000);
        if (defined $n) { $sent += $n; next }
        select(undef, undef, undef, 0.05);
    }
    my $rss1 = vm_rss_kb($pid) // 0;
    note(sprintf('sent %.1f MB of COM_PING in 3 s; worker RSS %d -> %d KiB', $sent / 1e6, $rss0, $rss1));
    cmp_ok($rss1 - $rss0, '<', 32 * 1024, 'the worker grew by less than 32 MiB');
    $f->close;
}

$t->done;
