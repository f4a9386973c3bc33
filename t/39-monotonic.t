# Monotonic reads (monotonic_reads = on): once a session has read from a
# replica at position P, its later reads never go to a replica behind P.
# r2's SQL thread is stopped while another session writes, so r1 is ahead of
# r2; a reader with round-robin selection and no writes of its own alternates
# between them without the option, and with it, once it has read from r1 (r2 is
# drained for its first read), never returns to r2. Which
# server answered comes from a per-server marker row written with
# sql_log_bin = 0.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep);
use JSON::PP ();
use lib 't/lib';
use Causeway::Test;

my $t = Causeway::Test->new;
$t->need_proxy('read routing');
my $topo = $t->topology;
my ($r1, $r2) = $topo->replicas;
my $primary = $topo->primary;
$primary->sql('CREATE TABLE test.mono (id INT PRIMARY KEY, v INT NOT NULL)');
$primary->sql('INSERT INTO test.mono VALUES (1, 0)');
$topo->add_markers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');

sub answered_by {
    my (%o) = @_;
    my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', replica_selection => 'round_robin',
                                                    causal_wait_ms => 0, monotonic_reads => $o{monotonic} } });
    my @ctl = ($t->root . '/bin/causewayctl', '-c', $cw->cnf);
    my $both_usable = sub {
        my $j = eval { JSON::PP::decode_json($t->run([@ctl, '--json', 'replicas'])->{out}) } or return 0;
        return $j->{floor_set} && 2 == grep { $_->{name} =~ /^r[12]$/ && $_->{usable} } @{ $j->{backends} };
    };
    # The floor is the primary's position at the poller's first poll: set before r2 stops.
    ok(wait_until($both_usable, timeout => 10), 'the poller set the floor and sees both replicas');
    my $writer = $t->connect(port => $cw->port);
    my $reader = $t->connect(port => $cw->port);
    $r2->stop_sql_thread;
    $writer->do("UPDATE mono SET v = v + 1 WHERE id = 1") for 1 .. 5;   # r1 gets these, r2 does not
    ok(wait_until(sub { $r1->value('SELECT v FROM test.mono WHERE id = 1') == $primary->value('SELECT v FROM test.mono WHERE id = 1') }, timeout => 10),
       'r1 has applied the writes');
    sleep 0.5;   # the poller sees r1 ahead (and, after a fresh start, the replicas at all)
    ok(wait_until($both_usable, timeout => 10), 'the poller sees both replicas usable (r2 behind)');
    my @seen;
    if ($o{first_from_r1}) {
        # Which replica a session's first read takes depends on the worker's rotation:
        # with r2 drained for one read, it is r1.
        is($t->run([@ctl, 'drain', 'r2'])->{exit}, 0, 'r2 drained for the first read');
        my ($name) = $reader->selectrow_array('SELECT name FROM marker');
        push @seen, $name // 'error';
        is($t->run([@ctl, 'undrain', 'r2'])->{exit}, 0, 'r2 undrained');
    }
    for (1 .. 40) {
        my ($name) = $reader->selectrow_array('SELECT name FROM marker');
        push @seen, $name // 'error';
    }
    $r2->start_sql_thread;
    ok($topo->wait_for_replicas(30), 'replicas caught up again');
    $t->stop_causeway($cw);
    return @seen;
}

my @without = answered_by(monotonic => 'off');
my %count;
$count{$_}++ for @without;
ok($count{r1} && $count{r2}, "without monotonic_reads a session reads from both replicas (r1 $count{r1}, r2 "
   . ($count{r2} // 0) . ')') or diag("@without");

my @with = answered_by(monotonic => 'on', first_from_r1 => 1);
my ($first_r1) = grep { $with[$_] eq 'r1' } 0 .. $#with;
ok(defined $first_r1, 'with monotonic_reads the session reads from r1') or diag("@with");
my @after = defined $first_r1 ? @with[$first_r1 .. $#with] : ();
my @behind = grep { $_ eq 'r2' } @after;
is(scalar @behind, 0, 'after reading from r1 it never reads from r2, which is behind') or diag("@with");
ok(!grep({ $_ eq 'error' } @with), 'every read succeeded');
$t->done;
