# A client whose server session is killed by KILL from another connection (make compat B7, mtr
# main.lock_kill) sees what it sees directly: MariaDB closes the connection without an error
# packet, so DBD::MariaDB reports 2013 for the statement that was running (2006 or 2013 for the
# next statement of an idle one), never Causeway's own 9002. Causeway tells this apart from a
# primary that went away (t/16: 9002, the session survives on the next primary) by logging in to
# the same server again: it is up, so only the connection ended.
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

# The killer and other clients go on.
is($killer->{causeway}->selectrow_array('SELECT 7'), 7, 'the killing client goes on');
my $new = $t->connect(port => $port{causeway});
is($new && $new->selectrow_array('SELECT COUNT(*) FROM tk'), 0, 'a new client works');
$t->log_is_clean($cw);

$t->done;
