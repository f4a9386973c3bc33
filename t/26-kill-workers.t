# A client whose server session is killed by KILL from another connection (make compat B7, mtr
# main.lock_kill) sees what it sees directly: MariaDB closes the connection without an error
# packet, so DBD::MariaDB reports 2013 for the statement that was running (2006 or 2013 for the
# next statement of an idle one), never Causeway's own 9002. Causeway tells this apart from a
# primary that went away (t/16: 9002, the session survives on the next primary) by logging in to
# the same server again: it is up, so only the connection ended. KILL CONNECTION of a client of
# another Causeway worker does the same (issue 7 item 7).
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;
use Time::HiRes qw(sleep);

my $t = Causeway::Test->new;
$t->need_proxy('compares a proxy with the server');
my $topo = $t->topology;
my $primary = $topo->primary;
$primary->sql('CREATE TABLE test.tk (a INT) ENGINE=InnoDB');
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');
my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', session_id => 'CONNECTION' } });
my %port = (direct => $primary->port, causeway => $cw->port);
my $killer = { map { $_ => $t->connect(port => $port{$_}) } keys %port };

sub running_on_primary {
    my ($id) = @_;
    return wait_until(sub { ($primary->value("SELECT COMMAND FROM information_schema.PROCESSLIST WHERE ID = $id") // '') eq 'Query' },
                      timeout => 10, interval => 0.02);
}

# Returns "err errstr" of what the killed client saw.
sub killed_running {
    my ($how, @setup) = @_;
    my $c = $t->connect(port => $port{$how}, read_timeout => 20);
    $c->do($_) for @setup;
    my $id = $c->selectrow_array('SELECT CONNECTION_ID()');
    my $sth = $c->prepare(@setup ? 'ALTER TABLE tk ADD COLUMN b INT' : 'SELECT SLEEP(15)', { mariadb_async => 1 });
    $sth->execute;
    running_on_primary($id) unless @setup;
    sleep 0.1 if @setup;
    $killer->{$how}->do("KILL $id") or return 'KILL failed: ' . $killer->{$how}->errstr;
    my $r = $sth->mariadb_async_result;
    return defined $r ? 'ok' : ($c->err // 'undef') . ' ' . ($c->errstr // '');
}

my %busy = map { $_ => killed_running($_) } keys %port;
like($busy{direct}, qr/^2013 /, "directly, the client killed during SELECT SLEEP gets $busy{direct}");
is($busy{causeway}, $busy{direct}, 'through Causeway, the same (not 9002)');

# mtr main.lock_kill: killed while ALTER TABLE runs under LOCK TABLE; mtr accepts 0, 2006, 2013,
# 2026 and ER_CONNECTION_KILLED.
my $lock = killed_running('causeway', 'LOCK TABLE tk WRITE');
like($lock, qr/^(ok|2006 |2013 |2026 |1927 )/, "through Causeway, killed in ALTER TABLE under LOCK TABLE: $lock");
$primary->sql('DROP TABLE test.tk');
$primary->sql('CREATE TABLE test.tk (a INT) ENGINE=InnoDB');

# An idle client: its next statement fails as directly.
my %idle;
for my $how (sort keys %port) {
    my $c = $t->connect(port => $port{$how}, read_timeout => 20);
    my $id = $c->selectrow_array('SELECT CONNECTION_ID()');
    $killer->{$how}->do("KILL $id");
    sleep 0.3;
    my $v = $c->selectrow_array('SELECT 1');
    $idle{$how} = defined $v ? "answered $v" : ($c->err // 'undef');
}
like($idle{direct}, qr/^(2006|2013)$/, "directly, a killed idle client's next statement gets $idle{direct}");
is($idle{causeway}, $idle{direct}, 'through Causeway, the same');

# Item 7: KILL [CONNECTION] <Causeway connection id> of a client of another worker ends that
# client as the server ends a killed connection (before: ERR 1094 "belongs to another worker").
my $worker = sub { ($_[0]{mariadb_thread_id} >> 22) & 0xff };
for my $case ('idle', 'running') {
    my $victim = $t->connect(port => $port{causeway}, read_timeout => 20);
    my $server_id = $victim->selectrow_array('SELECT CONNECTION_ID()');
    my $k;
    for (1 .. 40) {
        my $c = $t->connect(port => $port{causeway});
        if ($worker->($c) != $worker->($victim)) { $k = $c; last }
    }
  SKIP: {
        skip('no connection landed on another worker', 3) unless ok($k, "$case: a killer on another worker");
        my $vid = $victim->{mariadb_thread_id};
        my $sth;
        if ($case eq 'running') {
            $sth = $victim->prepare('SELECT SLEEP(15)', { mariadb_async => 1 });
            $sth->execute;
            running_on_primary($server_id);
        }
        ok($k->do("KILL CONNECTION $vid"), "$case: KILL CONNECTION of a client of another worker is accepted")
            or diag($k->errstr);
        my $got;
        if ($sth) {
            my $r = $sth->mariadb_async_result;
            $got = defined $r ? 'ok' : $victim->err;
        } else {
            sleep 0.3;
            my $v = $victim->selectrow_array('SELECT 1');
            $got = defined $v ? "answered $v" : $victim->err;
        }
        like($got // 'undef', $case eq 'running' ? qr/^2013$/ : qr/^(2006|2013)$/,
             "$case: the killed client's connection is closed ($got), as the server closes a killed one");
    }
}
my $other = $t->connect(port => $port{causeway});
ok(!$other->do('KILL CONNECTION ' . ((1 << 30) + (1 << 22) + 12345)), 'KILL CONNECTION of an unknown Causeway id fails');
is($other->err, 1094, '... with ERR 1094');

# The killer and other clients go on.
is($killer->{causeway}->selectrow_array('SELECT 7'), 7, 'the killing client goes on');
my $new = $t->connect(port => $port{causeway});
is($new && $new->selectrow_array('SELECT COUNT(*) FROM tk'), 0, 'a new client works');
$t->log_is_clean($cw);

$t->done;
