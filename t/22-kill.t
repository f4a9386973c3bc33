# KILL of a Causeway connection id: ids handed to clients have bit 30 set and
# never reach a server as a thread id. KILL QUERY <id> stops that client's
# running statement on whichever server runs it; KILL <id> closes that client;
# an unknown proxy id gets ERR 1094; a server thread id passes through.
use strict;
use warnings;
use Test::More;
use POSIX ();
use Time::HiRes qw(time sleep);
use lib 't/lib';
use Causeway::Test;

my $t = Causeway::Test->new;
$t->need_proxy('it tests connection ids handed out by causewayd');
my $topo = $t->topology;
$t->causeway(config => { causeway => { workers => 1, mode => 'smartscale' } });

my $a = $t->connect();
my $b = $t->connect();
my ($a_id) = $a->selectrow_array('SELECT CONNECTION_ID()');
ok($a->{mariadb_thread_id} & (1 << 30), "the handshake's connection id has bit 30 set ($a->{mariadb_thread_id})");
cmp_ok($a_id, '<', 1 << 30, "CONNECTION_ID() is the server's own thread id ($a_id)");

# KILL QUERY of a running statement (SLEEP runs on the primary: it is not a plain read there).
my $pid = fork // die;
if (!$pid) {
    sleep 0.5;
    my $k = $t->connect();
    my $ok = $k && $k->do("KILL QUERY $a->{mariadb_thread_id}");
    POSIX::_exit($ok ? 0 : 2);   # no END blocks: they belong to the parent
}
my $t0 = time;
my ($slept) = $a->selectrow_array('SELECT SLEEP(10) FROM DUAL WHERE GET_LOCK("x", 0) IS NOT NULL');
waitpid($pid, 0);
is($? >> 8, 0, 'KILL QUERY <causeway id> is accepted');
cmp_ok(time - $t0, '<', 8, 'the running statement was interrupted');
my ($still) = $a->selectrow_array('SELECT 1');
is($still, 1, 'the connection survives KILL QUERY');

ok(!$b->do('KILL QUERY ' . ((1 << 30) + 12345)), 'KILL QUERY of an unknown causeway id fails');
is($b->err, 1094, '... with ERR 1094 (unknown thread id)');

# A server thread id is the server's business: KILL of a nonexistent one gets the server's error.
ok(!$b->do('KILL 999999'), 'KILL of a server thread id reaches the server');
is($b->err, 1094, "... which answers with its own ERR 1094");

ok($b->do("KILL $a->{mariadb_thread_id}"), 'KILL <causeway id> closes that client');
ok(wait_until(sub { !$a->ping }, timeout => 5), 'the killed client is disconnected');
my ($one) = $b->selectrow_array('SELECT 1');
is($one, 1, 'the killer is fine');

# Who may kill whom is the server's decision (issue 9): a user with only SELECT gets the
# server's ERR 1095 for another user's client, running or idle, and that client lives on.
$topo->primary->sql($_) for ("CREATE USER 'weak'\@'%' IDENTIFIED BY 'weakpw'", "GRANT SELECT ON test.* TO 'weak'\@'%'");
$topo->wait_for_replicas(10);
my $cw_weak = $t->causeway(config => { causeway => { workers => 1, mode => 'smartscale' },
                                       users => { app => 'secret', weak => 'weakpw' } });
my $victim_w = $t->connect(port => $cw_weak->port);
my $weak = $t->connect(port => $cw_weak->port, user => 'weak', password => 'weakpw');
my ($vt) = $victim_w->selectrow_array('SELECT CONNECTION_ID() FROM DUAL WHERE GET_LOCK("y", 0) IS NOT NULL');
my $vid_w = $victim_w->{mariadb_thread_id};
ok(!$weak->do("KILL $vid_w"), "a user with only SELECT cannot KILL another user's client");
is($weak->err, 1095, "... ERR 1095, the server's own answer");
ok(!$weak->do("KILL QUERY $vid_w"), '... nor KILL QUERY it');
is($weak->err, 1095, '... ERR 1095');
is(($victim_w->selectrow_array('SELECT 1'))[0], 1, 'the client lives on');
ok($victim_w->do("KILL QUERY $vid_w"), 'a client may KILL QUERY itself (nothing running)');

# Across workers (issue 7 item 5b d): Ctrl-C in the CLI and JDBC's cancel send KILL QUERY
# on a new connection, which may land on another worker. Connection ids carry the worker.
my $cw2 = $t->causeway(config => { causeway => { workers => 2, mode => 'smartscale' } });
my $worker = sub { ($_[0]{mariadb_thread_id} >> 22) & 0xff };
my $victim = $t->connect(port => $cw2->port);
my ($killer, @spare);
for (1 .. 40) {
    my $c = $t->connect(port => $cw2->port);
    if ($worker->($c) != $worker->($victim)) { $killer = $c; last }
    push @spare, $c;
}
ok($killer, 'a second connection lands on another worker')
    or diag('workers: ' . join(' ', map { $worker->($_) } $victim, @spare));
SKIP: {
    skip('no connection on another worker', 4) unless $killer;
    my $vid = $victim->{mariadb_thread_id};
    my $kpid = fork // die;
    if (!$kpid) {
        sleep 0.5;
        my $ok = $killer->do("KILL QUERY $vid");   # the parent waits in its SELECT meanwhile
        POSIX::_exit($ok ? 0 : 2);
    }
    $t0 = time;
    my ($r) = $victim->selectrow_array('SELECT SLEEP(10)');
    waitpid($kpid, 0);
    is($? >> 8, 0, 'KILL QUERY of a client of another worker is accepted');
    cmp_ok(time - $t0, '<', 8, 'its running statement was interrupted');
    is(($victim->selectrow_array('SELECT 1'))[0], 1, 'and its connection survives');
    ok($killer->do("KILL QUERY $vid"), 'KILL QUERY of an idle client of another worker: OK, nothing to kill');
}
$t->done;
