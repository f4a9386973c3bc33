# Naming the session without `db?sessionId=X` (issue 7 item 5b g): Connector/J drops the
# suffix silently, Go's DSN and SQLAlchemy's URL refuse it. Under PROVIDED_IN_DBNAME a client
# can send the connection attribute `causeway_session_id` or run
# `SET @causeway_session_id = 'X'`. With both replicas' SQL threads stopped, a write on one
# connection is read back at once on another connection of the same session (never stale),
# while a connection of another session reads the lagging replica (the control: the test can
# see staleness). A malformed id fails loudly (ERR 1102), never silently.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;
use Causeway::Util qw(wait_until);
use Causeway::Wire;

my $t = Causeway::Test->new;
$t->need_proxy('PROVIDED_IN_DBNAME');
my $topo = $t->topology;
my $primary = $topo->primary;
my @replicas = $topo->replicas;
my %is_replica = map { $_->name => 1 } @replicas;

$primary->sql($_) for ('CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)',
                       'INSERT INTO test.t SELECT seq, 0 FROM test.seq_1_to_10');
$topo->add_markers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');
my $cw = $t->causeway(config => { causeway => {
    mode => 'smartscale', session_id => 'PROVIDED_IN_DBNAME', session_id_fallback => 'CONNECTION' } });

sub wire {
    my (%attrs) = @_;
    my $w = Causeway::Wire->new(port => $cw->port, timeout => 10);
    my $l = $w->login(user => 'app', password => 'secret', db => 'test', %attrs ? (attrs => \%attrs) : ());
    return ($w, $l);
}
sub wq {
    my ($w, $sql) = @_;
    my ($r) = $w->query($sql, 10);
    return $r->{rows}[0] // [] if $r->{type} eq 'rows';
    return $r->{type} eq 'err' ? "ERR $r->{code} $r->{message}" : $r->{type};
}
my $read_sql = 'SELECT t.v, m.name FROM t JOIN marker m WHERE t.id = %d';

my ($a, $la) = wire(causeway_session_id => 's1');
my ($b, $lb) = wire(causeway_session_id => 's1');
my ($c, $lc) = wire();
is($_->{type}, 'ok', 'a client with or without the attribute logs in') for $la, $lb, $lc;
ok(wait_until(sub { my $r = wq($c, sprintf $read_sql, 1); ref $r && $is_replica{ $r->[1] } }, timeout => 10,
              interval => 0.05), 'a plain read is answered by a replica');

$_->stop_sql_thread for @replicas;
my ($stale, $fresh) = (0, 0);
for my $i (1 .. 20) {
    is(wq($a, "UPDATE t SET v = $i WHERE id = 1"), 'ok', "attribute session s1: write $i") if $i <= 2;
    wq($a, "UPDATE t SET v = $i WHERE id = 1") if $i > 2;
    my $r = wq($b, sprintf $read_sql, 1);
    $fresh++ if ref $r && $r->[0] == $i;
    my $other = wq($c, sprintf $read_sql, 1);
    $stale++ if ref $other && $other->[0] != $i;
}
is($fresh, 20, 'another connection of session s1 (connection attribute) reads every write at once');
cmp_ok($stale, '>=', 15, "a connection of another session reads the lagging replica ($stale of 20 stale)");

# The SET form, any client.
my $d = $t->connect(port => $cw->port);
my $e = $t->connect(port => $cw->port);
ok($d->do(q{SET @causeway_session_id = 'cart-7'}) && $e->do(q{SET @causeway_session_id = 'cart-7'}),
   q{two connections run SET @causeway_session_id = 'cart-7'});
$fresh = 0;
for my $i (101 .. 120) {
    $d->do("UPDATE t SET v = $i WHERE id = 2");
    my ($v) = $e->selectrow_array('SELECT v FROM t WHERE id = 2');
    $fresh++ if defined $v && $v == $i;
}
is($fresh, 20, 'the other connection of session cart-7 (SET form) reads every write at once');
$_->start_sql_thread for @replicas;
ok($topo->wait_for_replicas(30), 'replicas catch up');

ok(!$d->do(q{SET @causeway_session_id = 'has space'}), 'a malformed id in the SET fails');
is($d->err, 1102, '... with ERR 1102');
like($d->errstr, qr/session id/, '... naming the session id');
ok($d->selectrow_array('SELECT 1'), 'the connection stays usable');
my ($f, $lf) = wire(causeway_session_id => 'a?b');
is($lf->{type}, 'err', 'a malformed connection attribute refuses the login');
is($lf->{code}, 1102, '... with ERR 1102') if $lf->{type} eq 'err';
$_->close for $a, $b, $c;
$_->disconnect for $d, $e;

$t->done;
