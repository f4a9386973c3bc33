# SIGHUP reload: a bad file is refused with file:line and the running config
# stays; a good one starts a new generation of workers while the old ones keep
# serving their clients (a transaction open across the reload commits), stop
# accepting, and exit once their clients leave. Keys that need a restart are
# kept with a warning.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use Causeway::Test;

my $t = Causeway::Test->new;
$t->need_proxy('it tests causewayd reloads');
my $topo = $t->topology;
my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', workers => 2 } });
my $cnf = $cw->cnf;
my $original = slurp($cnf);

sub workers { grep { (slurp("/proc/$_/comm") // '') =~ /causeway-work/ } $cw->children }

my $dbh = $t->connect();
ok($dbh, 'connected before the reload') or BAIL_OUT("no connection: $DBI::errstr");
$dbh->do('CREATE TABLE reload_t (id INT PRIMARY KEY)');
$dbh->do('BEGIN');
$dbh->do('INSERT INTO reload_t VALUES (1)');
my @before = sort { $a <=> $b } workers();
is(scalar @before, 2, 'two workers before the reload');

# A bad file: refused, named by file and line; the same workers keep running.
spit($cnf, $original . "\n[bogus]\nx = 1\n");
kill 'HUP', $cw->pid;
ok(wait_until(sub { $cw->log_text =~ /reload: \Q$cnf\E:\d+: unknown section \[bogus\]; keeping/ }, timeout => 10),
   'a bad file is refused with file:line');
is_deeply([sort { $a <=> $b } workers()], \@before, 'the workers did not change');
my ($one) = $dbh->selectrow_array('SELECT 1');
is($one, 1, 'the open connection still works');

# A good file: three workers and a restart-only key changed.
(my $next = $original) =~ s/^workers = 2$/workers = 3/m;
$next =~ s/^(listen = 127\.0\.0\.1:)(\d+)$/$1 . ($2 + 1)/me;
spit($cnf, $next);
kill 'HUP', $cw->pid;
ok(wait_until(sub { $cw->log_text =~ /generation 2 is accepting/ }, timeout => 15), 'generation 2 starts and accepts');
like($cw->log_text, qr/reload: listen changed .* takes effect only on restart/, 'a restart-only key is kept, with a warning');
sub old_left { my %now = map { $_ => 1 } workers(); return scalar grep { $now{$_} } @before }
ok(wait_until(sub { old_left() == 1 }, timeout => 10), 'the old worker with a client keeps running; the idle one left')
    or diag('old workers still running: ' . old_left());
cmp_ok(scalar(workers()), '==', 4, 'three new workers and the old one');

my ($n) = $dbh->selectrow_array('SELECT COUNT(*) FROM reload_t');
is($n, 1, 'the transaction open across the reload still sees its row');
ok($dbh->do('COMMIT'), 'and commits') or diag($DBI::errstr);
# A new connection is a new session (CONNECTION mode): it need not see another session's
# commit until the replicas applied it.
ok($topo->wait_for_replicas(20), 'the replicas applied the commit');
my $fresh = $t->connect();
my ($v) = $fresh ? $fresh->selectrow_array('SELECT COUNT(*) FROM reload_t') : ();
is($v, 1, 'a new connection (new generation) sees the commit');
$dbh->disconnect;
ok(wait_until(sub { scalar(workers()) == 3 }, timeout => 10), 'the old worker exits once its client left');
unlike($cw->log_text, qr/\] (?:crit|alert|emerg):/, 'no critical line in the log');
$fresh->disconnect if $fresh;
$t->done;
