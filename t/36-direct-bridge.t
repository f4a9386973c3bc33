# The two routing modes around SmartScale (issue 4 item 10; DESIGN §2). mode = direct reads
# from replicas whether fresh or not: with both replicas' SQL threads stopped, a read right
# after a write returns the old value (the control showing these tests can see staleness).
# mode = bridge never touches a replica: after many reads the replicas' own counters show no
# select from the application user (USER_STATISTICS) and, with no [monitor] configured, no
# select at all (Com_select unchanged); the replicas' processlists show no app connection.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;

my $t = Causeway::Test->new;

# A file that cannot even connect fails once and stops here (no BAIL_OUT: the other files run).
sub give_up { my ($why) = @_; fail($why); $t->done; exit }
$t->need_proxy('routing modes');
my $topo = $t->topology;
my $primary = $topo->primary;
my @replicas = $topo->replicas;
my %is_replica = map { $_->name => 1 } @replicas;

$primary->sql($_) for (
    'CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)',
    'INSERT INTO test.t SELECT seq, 0 FROM test.seq_1_to_10',
);
$topo->add_markers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');

sub q1 {
    my ($h, $sql) = @_;
    my $row = $h->selectrow_arrayref($sql);
    return $row ? join(' ', map { $_ // 'NULL' } @$row) : 'ERR ' . ($h->err // '?') . ' ' . ($h->errstr // '');
}
sub status {
    my ($var) = @_;
    return { map { ($_->name => $_->sql("SHOW GLOBAL STATUS LIKE '$var'")->[0][1]) } $topo->servers };
}
sub user_selects {
    my ($user) = @_;
    return { map { ($_->name => $_->value('SELECT SELECT_COMMANDS FROM information_schema.USER_STATISTICS '
                                          . 'WHERE USER = ?', $user) // 0) } $topo->servers };
}
sub app_on_replicas {
    return join(', ', map { my $s = $_; map { $s->name . ": id $_->[0] from $_->[1]" }
                            @{ $s->sql("SELECT ID, HOST FROM information_schema.PROCESSLIST WHERE USER = 'app'") } }
                      @replicas);
}

# ---- mode = direct ---------------------------------------------------------------------------

my $cw = $t->causeway(config => { causeway => { mode => 'direct' } });
my $dbh = $t->connect or give_up("connect through causewayd (direct): $DBI::errstr");

# Right after causewayd starts, its poller may not have reported the replicas yet, and reads
# rightly stay on the primary: wait (bounded) until a plain read is answered by a replica.
sub settle {
    my ($h) = @_;
    return wait_until(sub { my $w = ($h->selectrow_array('SELECT name FROM marker'))[0] // '';
                            $w =~ /^r\d$/ }, timeout => 5, interval => 0.05);
}
ok(settle($dbh), 'direct: a plain read is answered by a replica within 5 s of the start');
{
    my %by;
    $by{ q1($dbh, 'SELECT name FROM marker') }++ for 1 .. 20;
    my $on = 0;
    $on += $by{$_} for grep { $is_replica{$_} } keys %by;
    is($on, 20, 'direct: every plain read is answered by a replica (marker)')
        or diag(join(', ', map { "$_ $by{$_}" } sort keys %by));
}
ok($dbh->do('UPDATE t SET v = 1 WHERE id = 1'), 'direct: a write succeeds (it goes to the primary)')
    or diag($dbh->errstr);
ok($topo->wait_for_replicas(10), 'replicas applied it');
is(q1($dbh, 'SELECT v FROM t WHERE id = 1'), '1', 'direct: a caught-up replica reads the write');

$_->stop_sql_thread for @replicas;
ok($dbh->do('UPDATE t SET v = 2 WHERE id = 1'), 'direct, SQL threads stopped: a write succeeds')
    or diag($dbh->errstr);
is($primary->value('SELECT v FROM test.t WHERE id = 1'), 2, 'the primary has the new value 2');
{
    my (%by, @fresh);
    for my $k (1 .. 20) {
        my $got = q1($dbh, 'SELECT t.v, m.name FROM t JOIN marker m WHERE t.id = 1');
        $by{$got}++;
    }
    note('direct, SQL threads stopped, read right after writing 2: ' . join(', ', map { "'$_' $by{$_}" } sort keys %by));
    my $stale = 0;
    $stale += $by{$_} for grep { /^1 r\d$/ } keys %by;
    is($stale, 20, 'direct, SQL threads stopped: every read right after the write returns the old value 1 '
       . 'from a replica (the staleness control)');
}
$_->start_sql_thread for @replicas;
ok($topo->wait_for_replicas(10), 'replicas catch up after START SLAVE SQL_THREAD');
is(q1($dbh, 'SELECT v FROM t WHERE id = 1'), '2', 'direct: once caught up, the replicas read 2');
$dbh->disconnect;
$t->log_is_clean($cw, 'direct');
$t->stop_causeway($cw);

# ---- mode = bridge, with the harness's [monitor] ----------------------------------------------

# 500 reads and 50 writes; returns a list of problems (empty when all answered right).
sub bridge_workload {
    my ($h, $label, $base) = @_;
    my @bad;
    $h->do("UPDATE t SET v = $base WHERE id = 2") or push @bad, 'first UPDATE: ' . $h->errstr;
    for my $k (1 .. 500) {
        if ($k % 10 == 0) {
            $h->do('UPDATE t SET v = ' . ($base + $k) . ' WHERE id = 2') or push @bad, "UPDATE #$k: " . $h->errstr;
        }
        my $sql = $k % 2 ? 'SELECT name FROM marker' : 'SELECT v FROM t WHERE id = 2';
        my $got = q1($h, $sql);
        my $want = $k % 2 ? 'primary' : $base + 10 * int($k / 10);
        push @bad, "#$k $sql: '$got', want '$want'" if $got ne $want;
    }
    splice(@bad, 3, @bad - 3, '...') if @bad > 4;
    is(join("\n", @bad), '', "$label: 500 reads and 50 writes, every read answered by the primary with its latest write");
}

$cw = $t->causeway(config => { causeway => { mode => 'bridge' } });
$dbh = $t->connect or give_up("connect through causewayd (bridge): $DBI::errstr");
{
    my $u0 = user_selects('app');
    my $c0 = status('Com_select');
    bridge_workload($dbh, 'bridge', 1000);
    my $c1 = status('Com_select');
    my $u1 = user_selects('app');
    is(app_on_replicas(), '', 'bridge: no connection of user app on the replicas (processlist), client still connected');
    note(sprintf('bridge with [monitor]: Com_select deltas primary %d, r1 %d, r2 %d (the poller\'s included)',
                 map { $c1->{$_} - $c0->{$_} } qw(primary r1 r2)));
    is(join(' ', map { $u1->{$_} - $u0->{$_} } qw(r1 r2)), '0 0',
       'bridge: the replicas served no select of user app (USER_STATISTICS on r1 and r2)');
    cmp_ok($u1->{primary} - $u0->{primary}, '>=', 500, 'bridge: the primary served the 500 reads');
}
$dbh->disconnect;
$t->log_is_clean($cw, 'bridge');
$t->stop_causeway($cw);

# ---- mode = bridge without [monitor]: nothing at all reaches the replicas ----------------------

$cw = eval { $t->causeway(config => { causeway => { mode => 'bridge' },
                                      monitor  => { user => undef, password => undef } }) };
if (ok($cw, 'bridge starts without [monitor] user and password (it needs no replica progress)')) {
    $dbh = $t->connect or give_up("connect through causewayd (bridge, no monitor): $DBI::errstr");
    my $c0 = status('Com_select');
    bridge_workload($dbh, 'bridge without [monitor]', 2000);
    my $c1 = status('Com_select');    # before the processlist query, itself a select
    is(app_on_replicas(), '', 'bridge without [monitor]: no app connection on the replicas');
    is(join(' ', map { $c1->{$_} - $c0->{$_} } qw(r1 r2)), '0 0',
       'bridge without [monitor]: Com_select on r1 and r2 unchanged after 500 reads');
    cmp_ok($c1->{primary} - $c0->{primary}, '>=', 500, 'bridge without [monitor]: Com_select on the primary grew by the 500 reads');
    $dbh->disconnect;
    $t->log_is_clean($cw, 'bridge without [monitor]');
} else {
    diag("causewayd did not start: $@");
}

$t->done;
