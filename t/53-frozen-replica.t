# No client waits on a backend past the budget it was promised (issue 9; DESIGN §6 target
# "longest wait of a client on a frozen backend: causal_wait_ms + 50 ms"). A read that waits
# for its session's write on a replica (MASTER_GTID_WAIT, run by the replica itself) must not
# hang when that replica freezes (SIGSTOP): 50 ms after causal_wait_ms the replica connection
# is given up and the read is answered by the primary, right. The poller here polls slowly,
# so that it still believes the frozen replicas are up when the read arrives (the case that
# held reads ~10 s before).
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time);
use lib 't/lib';
use Causeway::Test;
use Causeway::Util qw(wait_until);

my $t = Causeway::Test->new;
$t->need_proxy('a proxy-side budget');
my $topo = $t->topology;
my $primary = $topo->primary;
my @replicas = $topo->replicas;
my %is_replica = map { $_->name => 1 } @replicas;
$primary->sql($_) for ('CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)',
                       'INSERT INTO test.t SELECT seq, 0 FROM test.seq_1_to_10');
$topo->add_markers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');
my $budget_ms = 200;
my $cw = $t->causeway(config => {
    causeway => { mode => 'smartscale', session_id => 'CONNECTION', workers => 1, causal_wait_ms => $budget_ms,
                  replica_selection => 'round_robin' },
    monitor  => { poll_interval_ms => 1000, progress_max_age_ms => 10000 } });

my $dbh = $t->connect(port => $cw->port, read_timeout => 30);
my %seen;
ok(wait_until(sub { my ($n) = $dbh->selectrow_array('SELECT name FROM marker'); $seen{ $n // '' }++;
                    return 2 == grep { $seen{$_} } keys %is_replica },
              timeout => 15, interval => 0.05), 'reads have opened connections to both replicas');

$_->pause for @replicas;    # SIGSTOP: their connections stay open, nothing answers
my $t0 = time;
ok($dbh->do('UPDATE t SET v = 7 WHERE id = 1'), 'a write on the primary');
my $row = $dbh->selectrow_arrayref('SELECT t.v, m.name FROM t JOIN marker m WHERE t.id = 1');
my $took = time - $t0;
$_->resume for @replicas;
is_deeply($row, [ 7, 'primary' ], 'the read after it is answered by the primary, right');
cmp_ok($took, '<', ($budget_ms + 50 + 400) / 1000,
       sprintf('within causal_wait_ms + 50 ms (+ slack): %.0f ms', $took * 1000));
ok($topo->wait_for_replicas(30), 'the replicas resume');
ok(wait_until(sub { my ($n) = $dbh->selectrow_array('SELECT name FROM marker'); $is_replica{ $n // '' } },
              timeout => 15, interval => 0.05), 'reads go back to the replicas');
$dbh->disconnect;
$t->done;
