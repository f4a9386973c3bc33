# A replica killed (SIGKILL to its mariadbd) under SmartScale routing (issue 4 item 10): no
# client sees an error for a read that had not started answering (the proxy retries it
# elsewhere, normally on the primary), and no read is stale. First a plain read is held on
# whichever replica serves it (root holds LOCK TABLES marker WRITE there) and that replica is
# killed under it; then four clients run write-then-read and other-row reads while r1 is killed,
# and after r1 comes back and catches up it serves reads again.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(time sleep);

my $t = Causeway::Test->new;
$t->need_proxy('replica failure handling');
my $topo = $t->topology;
my $primary = $topo->primary;
my ($r1, $r2) = $topo->replicas;
my %server = map { ($_->name => $_) } $topo->servers;

$primary->sql($_) for (
    'CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)',
    'INSERT INTO test.t SELECT seq, 0 FROM test.seq_1_to_100',
);
$topo->add_markers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');

my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', session_id => 'CONNECTION' } });
my $port = $cw->port;

sub fork_client {
    my ($file, $code) = @_;
    unlink $file;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $r = eval { $code->() } // { error => "client died: $@" };
        spit($file, JSON::PP->new->canonical->encode($r));
        POSIX::_exit(0);
    }
    return $t->track($pid);
}
sub collect {
    my ($pid, $file, $timeout) = @_;
    my $st = reap($pid, $timeout);
    unless (defined $st) { kill 'KILL', $pid; reap($pid, 5) }
    my $txt = slurp($file);
    return $txt ? JSON::PP::decode_json($txt) : { error => defined $st ? 'client exited without a report' : 'client hung' };
}

# ---- a read in flight on a replica that dies ----------------------------------------------------

# Root on each replica holds LOCK TABLES marker WRITE, so a plain `SELECT name FROM marker`
# sent to a replica blocks there, not yet answering; the replica it waits on is then killed.
sub lock_marker {
    my ($s) = @_;
    my $h = DBI->connect('DBI:MariaDB:mariadb_socket=' . $s->socket, 'root', '',
                         { RaiseError => 1, PrintError => 0, AutoInactiveDestroy => 1 });
    $h->do('LOCK TABLES test.marker WRITE');
    return $h;
}
{
    # Right after causewayd starts its poller may not have reported the replicas yet, and reads
    # rightly stay on the primary: first wait (bounded) for a plain read served by a replica.
    my $h = $t->connect;
    ok(wait_until(sub { (($h->selectrow_array('SELECT name FROM marker'))[0] // '') =~ /^r\d$/ },
                  timeout => 5, interval => 0.05), 'a plain read is answered by a replica within 5 s of the start');
    $h->disconnect;
    my %lock = map { ($_->name => lock_marker($_)) } $r1, $r2;
    my $file = $t->dir . '/blocked.json';
    my $pid = fork_client($file, sub {
        my $h = $t->connect(read_timeout => 30) or return { error => "connect: $DBI::errstr" };
        my $t0 = time;
        my $row = $h->selectrow_arrayref('SELECT name FROM marker');
        return $row ? { name => $row->[0], seconds => time - $t0 } : { error => "ERR $DBI::err $DBI::errstr" };
    });
    my $victim;
    my $where = wait_until(sub {
        for my $s ($topo->servers) {
            my $n = $s->value("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'app' "
                              . "AND INFO = 'SELECT name FROM marker'");
            return $s->name if $n;
        }
        return 0;
    }, timeout => 5, interval => 0.02);
    $victim = $server{$where} if $where && $where ne 'primary';
    if (ok($victim, 'a plain read is in flight (blocked) on a replica') ) {
        $victim->kill9;
        delete $lock{ $victim->name };
        note('killed ' . $victim->name . ' (SIGKILL) while the read waited on it');
        sleep 1;    # a retry that went to the other (locked) replica waits there until this
        eval { $_->do('UNLOCK TABLES') } for values %lock;
        my $r = collect($pid, $file, 20);
        is($r->{error} // '', '', 'the client got no error for the read whose replica died');
        isnt($r->{name} // '', $victim->name, 'the read was answered by a live server (' . ($r->{name} // 'none') . ')');
        note(sprintf('the in-flight read was retried on %s, answered %.2f s after it was sent',
                     $r->{name} // 'nothing', $r->{seconds} // -1));
        $victim->start;
        ok($topo->wait_for_replicas(60), $victim->name . ' restarted and caught up');
    } else {
        diag('the read was seen ' . ($where ? "on $where" : 'nowhere') . '; skipping the in-flight kill');
        eval { $_->do('UNLOCK TABLES') } for values %lock;
        collect($pid, $file, 20);
    }
    $_->disconnect for values %lock;
}

# ---- r1 killed under a mixed workload ---------------------------------------------------------

my $CLIENTS = 4;
my $SECONDS = 8;
my $kill_file = $t->dir . '/killed-at';
unlink $kill_file;
my $start = time;
my @kids;
for my $c (1 .. $CLIENTS) {
    my $file = $t->dir . "/client-$c.json";
    push @kids, [fork_client($file, sub {
        my %r = (reads => 0, reads_after_kill => 0, writes => 0, stale => 0, errors => 0, by_after => {});
        my $h = $t->connect or return { error => "connect: $DBI::errstr" };
        my $upd = $h->prepare('UPDATE t SET v = ? WHERE id = ?');
        my $own = $h->prepare('SELECT v FROM t WHERE id = ?');
        my $mark = $h->prepare('SELECT t.v, m.name FROM t JOIN marker m WHERE t.id = ?');
        my $i = 0;
        while (time < $start + $SECONDS) {
            $i++;
            my $killed_at = -e $kill_file ? slurp($kill_file) : undef;
            if (!$upd->execute($i, $c)) {
                $r{errors}++;
                $r{first_error} //= sprintf('UPDATE #%d at +%.2f s: ERR %s %s', $i, time - $start, $DBI::err, $DBI::errstr);
                next;
            }
            $r{writes}++;
            for my $q ([$own, $c, $i], [$mark, $c, $i], [$mark, 50 + ($i % 50), undef]) {
                my ($sth, $id, $want) = @$q;
                my $ok = $sth->execute($id);
                my @row = $ok ? $sth->fetchrow_array : ();
                $sth->finish;
                if (!$ok || !@row) {
                    $r{errors}++;
                    $r{first_error} //= sprintf('read #%d at +%.2f s: ERR %s %s', $i, time - $start,
                                                $DBI::err // '', $DBI::errstr // 'no row');
                    next;
                }
                $r{reads}++;
                if (defined $killed_at) {
                    $r{reads_after_kill}++;
                    $r{by_after}{ $row[1] }++ if defined $row[1];
                }
                if (defined $want && $row[0] != $want) {
                    $r{stale}++;
                    $r{first_stale} //= "read of own row #$i: wrote $want, read $row[0]" . ($row[1] ? " from $row[1]" : '');
                }
            }
        }
        return \%r;
    }), $file];
}
sleep 3;
$r1->kill9;    # returns once mariadbd is reaped: reads that start after the file appears meet it dead
spit($kill_file, time);
note(sprintf('killed r1 (SIGKILL) %.1f s into the workload', time - $start));
my %after;
my ($reads, $errors, $stale) = (0, 0, 0);
for my $k (0 .. $#kids) {
    my $r = collect(@{ $kids[$k] }, $SECONDS + 30);
    my $c = $k + 1;
    next unless is($r->{error} // '', '', "client $c connected and ran");
    is($r->{errors}, 0, "client $c: no error, before or after the kill") or diag($r->{first_error});
    is($r->{stale}, 0, "client $c: no stale read") or diag($r->{first_stale});
    cmp_ok($r->{reads_after_kill}, '>', 0, "client $c: kept reading after the kill ($r->{reads_after_kill} reads)");
    $after{$_} += $r->{by_after}{$_} for keys %{ $r->{by_after} };
    $reads += $r->{reads};
}
note('reads with a marker after the kill answered by: ' . join(', ', map { "$_ $after{$_}" } sort keys %after));
is($after{r1} // 0, 0, 'no read was answered by the dead r1 after the kill');
cmp_ok($after{r2} // 0, '>', 0, 'r2 kept serving reads after r1 died');

# ---- r1 comes back ------------------------------------------------------------------------------

# While r1 was dead the workload wrote thousands of rows: r1 restarts behind. Write-then-read
# round trips run from the moment it accepts connections again, so reads meet it catching up:
# none may be stale, and once it has caught up it serves reads again.
$r1->start;
{
    my $h = $t->connect;
    my $upd = $h->prepare('UPDATE t SET v = ? WHERE id = 99');
    my $sel = $h->prepare('SELECT t.v, m.name FROM t JOIN marker m WHERE t.id = 99');
    my (%by, @bad);
    my $deadline = time + 15;
    my $caught_up;
    for my $i (1 .. 20000) {
        last if time > $deadline || ($caught_up && $by{r1});
        $upd->execute($i) or do { push @bad, "UPDATE #$i: $DBI::errstr"; next };
        my ($v, $who) = $sel->execute ? $sel->fetchrow_array : ();
        $sel->finish;
        if (!defined $v) { push @bad, "read #$i: ERR $DBI::errstr"; next }
        $by{$who}++;
        push @bad, "read #$i: wrote $i, read $v from $who" if $v != $i;
        $caught_up //= $topo->wait_for_replicas(0) ? time : undef if $i % 50 == 0;
    }
    splice(@bad, 3, @bad - 3, '...') if @bad > 4;
    note('write-then-read while r1 restarted and caught up: ' . join(', ', map { "$_ $by{$_}" } sort keys %by));
    is(join("\n", @bad), '', 'no error and no stale read while r1 comes back and catches up');
    ok($caught_up, 'r1 caught up within 15 s of its restart');
    ok($by{r1}, 'r1 serves reads again once it has caught up');
}

$t->log_is_clean($cw);
$t->done;
