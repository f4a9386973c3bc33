# Monotonic reads (monotonic_reads = on): once a session has read from a
# replica at position P, its later reads never go to a replica behind P.
# r2's SQL thread is stopped while another session writes, so r1 is ahead of
# r2; a reader with round-robin selection and no writes of its own alternates
# between them without the option, and never returns to r2 with it. Which
# server answered comes from a per-server marker row written with
# sql_log_bin = 0.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep);
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
    my $writer = $t->connect(port => $cw->port);
    my $reader = $t->connect(port => $cw->port);
    $r2->stop_sql_thread;
    $writer->do("UPDATE mono SET v = v + 1 WHERE id = 1") for 1 .. 5;   # r1 gets these, r2 does not
    ok(wait_until(sub { $r1->value('SELECT v FROM test.mono WHERE id = 1') == $primary->value('SELECT v FROM test.mono WHERE id = 1') }, timeout => 10),
       'r1 has applied the writes');
    sleep 0.5;   # the poller sees r1 ahead (and, after a fresh start, the replicas at all)
    my @seen;
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

my @with = answered_by(monotonic => 'on');
my ($first_r1) = grep { $with[$_] eq 'r1' } 0 .. $#with;
ok(defined $first_r1, 'with monotonic_reads the session reads from r1') or diag("@with");
my @after = defined $first_r1 ? @with[$first_r1 .. $#with] : ();
my @behind = grep { $_ eq 'r2' } @after;
is(scalar @behind, 0, 'after reading from r1 it never reads from r2, which is behind') or diag("@with");
ok(!grep({ $_ eq 'error' } @with), 'every read succeeded');
$t->done;
