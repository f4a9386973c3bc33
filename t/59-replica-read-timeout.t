# replica_read_timeout_ms (issue 9 item 5; DESIGN §6 "longest wait of a client on a frozen
# backend: replica_read_timeout_ms + 50 ms"): a read already sent to a replica that stops
# answering (SIGSTOP) before any byte of its answer reached the client is retried on the
# primary after replica_read_timeout_ms; the frozen connection is given up and counted. The
# poller polls slowly here, so that it still believes the frozen replicas are up.
use strict;
use warnings;
use Test::More;
use JSON::PP qw(decode_json);
use Time::HiRes qw(time);
use lib 't/lib';
use Causeway::Test;
use Causeway::Util qw(wait_until);

my $t = Causeway::Test->new;
$t->need_proxy('a proxy-side budget');
my $topo = $t->topology;
my @replicas = $topo->replicas;
my %is_replica = map { $_->name => 1 } @replicas;
$topo->add_markers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');
my $timeout_ms = 300;
my $cw = $t->causeway(config => {
    causeway => { mode => 'smartscale', session_id => 'CONNECTION', workers => 1,
                  replica_read_timeout_ms => $timeout_ms, replica_selection => 'round_robin' },
    monitor  => { poll_interval_ms => 1000, progress_max_age_ms => 10000 } });
my $ctl = $t->root . '/bin/causewayctl';
sub counter {
    my $r = $t->run([$ctl, '-c', $cw->cnf, '--json', 'counters'], timeout => 20);
    return (eval { decode_json($r->{out}) } // {})->{total}{counters}{$_[0]} // 0;
}

my $dbh = $t->connect(port => $cw->port, read_timeout => 5);
my %seen;
ok(wait_until(sub { my ($n) = $dbh->selectrow_array('SELECT name FROM marker'); $seen{ $n // '' }++;
                    return 2 == grep { $seen{$_} } keys %is_replica },
              timeout => 15, interval => 0.05), 'reads have opened connections to both replicas');
my ($name) = $dbh->selectrow_array('SELECT SLEEP(0.1), name FROM marker');
ok(defined $name, 'a read shorter than the timeout is answered where it ran');

$_->pause for @replicas;    # SIGSTOP: their connections stay open, nothing answers
my (@took, @where);
for (1 .. 6) {
    my $t0 = time;
    my ($n) = $dbh->selectrow_array('SELECT name FROM marker');
    push @took, (time - $t0) * 1000;
    push @where, $n // ('error ' . ($DBI::err // '?'));
}
$_->resume for @replicas;
note(sprintf('frozen replicas: %s, in %s ms', join(' ', @where), join(' ', map { sprintf '%.0f', $_ } @took)));
is(join(' ', @where), join(' ', ('primary') x 6), 'every read is answered, by the primary');
my ($longest) = sort { $b <=> $a } @took;
cmp_ok($longest, '<', $timeout_ms + 50 + 150,
       sprintf('no read waits past replica_read_timeout_ms + 50 ms (+ slack for a loaded machine): %.0f ms', $longest));
cmp_ok(counter('replica_read_timeouts'), '>=', 1, 'replica_read_timeouts counts the frozen replicas given up');
ok($topo->wait_for_replicas(30), 'the replicas resume');
ok(wait_until(sub { my ($n) = $dbh->selectrow_array('SELECT name FROM marker'); $is_replica{ $n // '' } },
              timeout => 15, interval => 0.05), 'reads go back to the replicas');
$dbh->disconnect;
$t->done;
