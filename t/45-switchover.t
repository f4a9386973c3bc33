# The primary changes under a read-your-writes workload (issue 10), in CONNECTION and USER
# session modes at once (one causewayd each, two clients each, rows of their own): every client
# loops UPDATE t SET v = ?, srv = @@server_id, then SELECT v, srv, on one connection, and
# records errors with their time. The servers binlog with log_slave_updates, so any can be
# promoted. Phases, done with the servers' own commands while the clients run:
#   1. planned switchover primary -> r1 (old primary read-only, r1 catches up and is promoted,
#      r2 and the old primary re-pointed) while sysbench oltp_read_write runs too: no stale read,
#      no client error outside the switch, writes reach r1 within one health interval, the old
#      primary then serves reads;
#   2. split brain (r2 made writable on its own): no write is routed to either;
#   3. failover: r1 SIGKILLed, the most advanced survivor promoted by hand;
#   4. primary down, no promotion: caught-up sessions keep reading, writes fail at once with
#      ERR 1290 naming the state.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;
use File::Basename ();
use JSON::PP ();
use List::Util ();
use POSIX ();
use Time::HiRes qw(time sleep);

my $t = Causeway::Test->new;
$t->need_proxy('following the primary');
my $topo = $t->topology(promotable => 1);
my $p = $topo->primary;
my ($r1, $r2) = $topo->replicas;
my %by_id = map { ($_->server_id => $_->name) } $topo->servers;

my %USER = (CONNECTION => 'sw_conn', USER => 'sw_user');
$p->sql($_) for (
    'CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL, srv INT NOT NULL DEFAULT 0)',
    'INSERT INTO test.t (id, v) SELECT seq, 0 FROM test.seq_1_to_10',
    map { ("CREATE USER '$_'\@'%' IDENTIFIED BY 'pw'", "GRANT ALL PRIVILEGES ON *.* TO '$_'\@'%'",
           "REVOKE READ_ONLY ADMIN ON *.* FROM '$_'\@'%'") } sort values %USER,
);
$_->sql('SET GLOBAL userstat = 1') for $topo->servers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');

my $health_ms = 1000;
my %cw;
for my $m (sort keys %USER) {
    $cw{$m} = $t->causeway(config => {
        causeway => { mode => "smartscale", session_id => $m, log_level => 6 },
        monitor  => { health_interval_ms => $health_ms },
        users    => { map { $_ => 'pw' } values %USER } });
    $cw{$m}{ignore_log} = qr/split brain/;    # logged at crit on purpose in phase 2
}

sub repoint {
    my ($s, $to) = @_;
    $s->sql('STOP SLAVE');
    $s->sql(sprintf("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, MASTER_USER='repl', "
        . "MASTER_PASSWORD='replpass', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1", $to->port));
    $s->sql('START SLAVE');
}
sub promote {
    my ($s) = @_;
    $s->sql('STOP SLAVE');
    $s->sql('RESET SLAVE ALL');
    $s->sql('SET GLOBAL read_only = 0');
}
sub seqno { my ($pos) = @_; return ($pos // '') =~ /(?:^|,)0-\d+-(\d+)/ ? $1 : 0 }
sub rows_read {
    my ($s) = @_;
    my $n = 0;
    my %mine = map { ($_ => 1) } values %USER;
    for my $row (@{ $s->sql('SELECT USER, ROWS_READ FROM information_schema.USER_STATISTICS') }) {
        $n += $row->[1] if $mine{ $row->[0] };
    }
    return $n;
}

# sysbench oltp_read_write through the CONNECTION instance during the planned switchover
# (issue 10 item 6): it may see only the errors of statements that reached the old primary
# after it went read-only (1290) and of transactions open across the switch (1213).
my $sysbench = system('command -v sysbench >/dev/null') == 0;
my @sb = ('sysbench', 'oltp_read_write', '--db-driver=mysql', '--mysql-host=127.0.0.1',
          '--mysql-port=' . $cw{CONNECTION}->port, '--mysql-user=sw_conn', '--mysql-password=pw',
          '--mysql-db=test', '--tables=1', '--table-size=1000');
if ($sysbench) {
    my $r = $t->run([@sb, 'prepare'], timeout => 120);
    is($r->{exit}, 0, 'sysbench prepare exits 0') or diag("$r->{out}\n$r->{err}");
    ok($topo->wait_for_replicas(30), 'replicas applied the sysbench tables');
}

# ---- the workload ------------------------------------------------------------------------------

my $stop = $t->dir . '/stop';
my $t_start = time;

sub client {
    my (%o) = @_;
    my (@writes, @errors);
    my %r = (round_trips => 0, stale => 0, reads => 0);
    my $dbh;
    my $connect = sub {
        $dbh = $t->connect(port => $o{port}, user => $o{user}, password => 'pw', read_timeout => 15);
        push @errors, [time, 'connect', $DBI::err // 0, $DBI::errstr // ''] unless $dbh;
        return $dbh;
    };
    $connect->() or return { error => "connect: $DBI::errstr" };
    my ($expect, $maybe, $expect_at);
    my $i = 0;
    while (!-e $stop) {
        $dbh or $connect->() or do { sleep 0.05; next };
        my $v = $o{base} + ++$i;
        my $t0 = time;
        my $rows = $dbh->do('UPDATE t SET v = ?, srv = @@server_id WHERE id = ?', undef, $v, $o{row});
        my $wrote = $rows && $rows == 1;
        if ($wrote) {
            ($expect, $expect_at) = ($v, $t0);
            undef $maybe;
        } else {
            push @errors, [$t0, 'write', $DBI::err // 0, $DBI::errstr // '', time - $t0];
            $maybe = $v;    # an error may still have committed (a lost connection)
            undef $dbh if ($DBI::err // 0) == 2006 || ($DBI::err // 0) == 2013;
            sleep 0.005;
            next unless $dbh;
        }
        my $t1 = time;
        my $row = $dbh->selectrow_arrayref('SELECT v, srv FROM t WHERE id = ?', undef, $o{row});
        if (!$row) {
            push @errors, [$t1, 'read', $DBI::err // 0, $DBI::errstr // '', time - $t1];
            undef $dbh if ($DBI::err // 0) == 2006 || ($DBI::err // 0) == 2013;
            next;
        }
        $r{reads}++;
        my ($got, $srv) = @$row;
        push @writes, [$t0, $srv] if $wrote;
        if (defined $expect && $got != $expect) {
            if (defined $maybe && $got == $maybe) { $expect = $maybe }
            else {
                # A write the killed primary acknowledged but never sent on is lost by the
                # failover itself (asynchronous replication): told apart in the assertions.
                push @{ $r{stale_reads} }, [$t1, $expect_at, $expect, $got];
                $expect = $got;
            }
        }
        $r{round_trips}++;
        sleep 0.001;
    }
    $r{writes} = \@writes;
    $r{errors} = \@errors;
    return \%r;
}

my %kids;
for my $m (sort keys %USER) {
    for my $k (1, 2) {
        my $name = "$m$k";
        my $file = $t->dir . "/client-$name.json";
        my $row = $m eq 'USER' ? 2 + $k : $k;
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            my $r = eval { client(port => $cw{$m}->port, user => $USER{$m}, row => $row, base => $k * 1000000) }
                // { error => "client died: $@" };
            spit($file, JSON::PP->new->encode($r));
            POSIX::_exit(0);
        }
        $t->track($pid);
        $kids{$name} = [$pid, $file];
    }
}
my ($sb_pid, $sb_out);
if ($sysbench) {
    $sb_out = $t->dir . '/sysbench.out';
    $sb_pid = $t->spawn_bg([@sb, '--threads=2', '--time=4', '--report-interval=0', '--db-ps-mode=auto',
                            '--mysql-ignore-errors=1290,1213', 'run'], stdout => $sb_out, stderr => $sb_out);
}
sleep 1.5;

# ---- 1. planned switchover: primary -> r1 -----------------------------------------------------------

my %mark;
$mark{switch} = time;
$p->sql('SET GLOBAL read_only = 1');
my $target = $p->value('SELECT @@gtid_binlog_pos');
ok(wait_until(sub { ($r1->value('SELECT @@gtid_slave_pos') // '') eq $target }, timeout => 10, interval => 0.002),
   "r1 applies the old primary's last position $target");
promote($r1);
$mark{promoted} = time;
repoint($r2, $r1);
$p->sql('SET GLOBAL gtid_slave_pos = @@gtid_binlog_pos');
repoint($p, $r1);
$mark{switched} = time;
note(sprintf('switchover: read_only on the old primary to r1 writable %.0f ms; re-pointing done after %.0f ms',
             1000 * ($mark{promoted} - $mark{switch}), 1000 * ($mark{switched} - $mark{switch})));
sleep 1.5;
my $p_reads = rows_read($p);
sleep 2;
$p_reads = rows_read($p) - $p_reads;
cmp_ok($p_reads, '>', 0, "the old primary serves reads as a replica after the switchover ($p_reads rows)");

SKIP: {
    skip('sysbench is not installed', 4) unless $sysbench;
    my $st = reap($sb_pid, 30);
    my $out = slurp($sb_out) // '';
    is($st, 0, 'sysbench ran through the switchover and exits 0') or diag($out);
    my ($tx) = $out =~ /transactions:\s+(\d+)/;
    my ($ignored) = $out =~ /ignored errors:\s+(\d+)/;
    my ($reconnects) = $out =~ /reconnects:\s+(\d+)/;
    cmp_ok($tx // 0, '>', 20, 'sysbench committed transactions across the switchover') or diag($out);
    # Each of the 2 threads can lose the statement in flight at each poll of the switch
    # (the old primary read-only until the poller sees it) and the transaction around it.
    my $bound = List::Util::max(12, 0.05 * ($tx // 0));
    cmp_ok($ignored // 1e9, '<=', $bound,
           "sysbench: only the statements caught by the switch failed (1290, 1213; at most $bound)") or diag($out);
    is($reconnects // -1, 0, 'sysbench: no connection was lost');
    note(sprintf('sysbench during the switchover: %s transactions, %s ignored errors', $tx // '?', $ignored // '?'));
}

# ---- 2. split brain: r2 writable on its own ---------------------------------------------------------

$mark{split} = time;
promote($r2);
sleep 0.1;    # the poller sees read_only = 0 at its next poll, then asks what r2 replicates from
my $r1_before = $r1->value('SELECT @@gtid_binlog_pos');
sleep 1.4;
my $r1_during = $r1->value('SELECT @@gtid_binlog_pos');
my $r2_during = $r2->value('SELECT @@gtid_binlog_pos');
$r2->sql('SET GLOBAL read_only = 1');
$mark{split_end} = time;
repoint($r2, $r1);
sleep 0.5;
my $writes_in_split = seqno($r1_during) - seqno($r1_before);
is($writes_in_split, 0, 'split brain: no write is routed to r1 once it is seen (commits on r1 in 1.4 s)');
unlike($r2_during, qr/(?:^|,)0-3-/, 'split brain: no write reached r2 (no GTID of server 3)');
ok(wait_until(sub { $cw{CONNECTION}->log_text =~ /crit: split brain/ }, timeout => 2), 'split brain is logged at crit');
sleep 1.5;

# ---- 3. failover: r1 killed, the most advanced survivor promoted --------------------------------

$mark{kill} = time;
$r1->kill9;
# As an orchestrator does: the survivors first apply what they received (their relay logs),
# then the most advanced is promoted. Promoting one that is behind another would fork the
# history: the other's higher seqnos would stand for transactions the new primary never had.
for my $s ($r2, $p) {
    wait_until(sub { (($s->dbh->selectrow_hashref('SHOW SLAVE STATUS') // {})->{Slave_SQL_Running_State} // '')
                     =~ /read all relay log/ }, timeout => 5, interval => 0.01);
}
my ($new, $other) = seqno($r2->value('SELECT @@gtid_binlog_pos')) >= seqno($p->value('SELECT @@gtid_binlog_pos'))
    ? ($r2, $p) : ($p, $r2);
promote($new);
$mark{failover} = time;
repoint($other, $new);
note('failover: promoted ' . $new->name);
sleep 2.5;

# ---- 4. primary down, no promotion ------------------------------------------------------------------

$mark{down} = time;
$new->kill9;
sleep 2;
$mark{end} = time;
{
    my $st = $other->dbh->selectrow_hashref('SHOW SLAVE STATUS');
    note('surviving replica ' . $other->name . ': ' . join(', ', map { "$_=" . ($st->{$_} // 'NULL') }
         qw(Slave_IO_Running Slave_SQL_Running Last_IO_Errno Last_SQL_Errno)));
}
spit($stop, '1');

my %res;
for my $name (sort keys %kids) {
    my ($pid, $file) = @{ $kids{$name} };
    my $st = reap($pid, 30);
    unless (defined $st) { kill 'KILL', $pid; reap($pid, 5) }
    my $txt = slurp($file);
    $res{$name} = $txt ? JSON::PP::decode_json($txt) : { error => 'no report' };
}

note('marks: ' . join(', ', map { sprintf('%s +%.3f', $_, $mark{$_} - $t_start) } sort { $mark{$a} <=> $mark{$b} } keys %mark));

# ---- assertions -------------------------------------------------------------------------------------

sub in { my ($e, $from, $to) = @_; return $e->[0] >= $from && $e->[0] < $to }
my $switch_settled = $mark{promoted} + $health_ms / 1000;
for my $name (sort keys %res) {
    my $r = $res{$name};
    next unless is($r->{error} // '', '', "$name: client ran");
    my @stale = @{ $r->{stale_reads} // [] };
    # A write the SIGKILLed primary acknowledged in its last moment may never have reached a
    # replica (asynchronous replication): it is gone from every server. Both kills (the
    # failover's, then the new primary's in phase 4) can lose one; the session that wrote it
    # gets no read from a replica without it, but a client that lost its connection in the
    # kill reconnects as a new session, whose reads owe it nothing. Told apart, not stale.
    my $lost_by = sub { my ($e, $at, $until) = @_; $e->[1] < $at && $e->[1] > $at - 1 && $e->[0] >= $at && $e->[0] < $until };
    my $reconnected = sub {    # the client lost its connection between the write and the read
        my ($e) = @_;
        return grep { $_->[0] >= $e->[1] && $_->[0] <= $e->[0] && ($_->[2] == 2006 || $_->[2] == 2013) } @{ $r->{errors} };
    };
    my @lost = grep { $lost_by->($_, $mark{kill}, $mark{down})
                      || ($lost_by->($_, $mark{down}, $mark{end} + 30) && $reconnected->($_)) } @stale;
    my @truly = grep { my $s = $_; !grep { $_ == $s } @lost } @stale;
    is(scalar @truly, 0, "$name: no stale read")
        or diag(join("\n", map { sprintf('+%.3f: wrote %d at +%.3f, read %d', $_->[0] - $t_start, $_->[2],
                                         $_->[1] - $t_start, $_->[3]) } @truly));
    note("$name: " . scalar(@lost) . ' write(s) acknowledged by the killed primary and lost in the failover') if @lost;
    my @e = @{ $r->{errors} };
    my $fmt = sub { join("\n", map { sprintf('+%.3f %s %d %s', $_->[0] - $t_start, @$_[1 .. 3]) } @_) };

    my @before = grep { $_->[0] < $mark{switch} } @e;
    is(scalar @before, 0, "$name: no error before the switchover") or diag($fmt->(@before));
    # During the switch only a statement sent to the old primary after it went read-only and
    # before the poller saw it (one poll interval) may fail, with the server's own ERR 1290.
    # Autocommit writes that reach the old primary once it is read-only (before the poller
    # sees it) run again on the new primary: the switchover costs these clients no error.
    my @switch = grep { in($_, $mark{switch}, $mark{split}) } @e;
    is(scalar @switch, 0, "$name: switchover: no client error (autocommit writes wait for the new primary)")
        or diag($fmt->(@switch));

    my @first_new = grep { $_->[1] == $r1->server_id && $_->[0] >= $mark{promoted} } @{ $r->{writes} };
    if (@first_new) {
        my $lag = $first_new[0][0] - $mark{promoted};
        cmp_ok($lag, '<', $health_ms / 1000, sprintf('%s: writes reach the new primary %.0f ms after it became '
               . 'writable (within one health interval)', $name, 1000 * $lag));
    } else {
        fail("$name: no write reached the new primary");
    }

    my @split = grep { in($_, $mark{split}, $mark{kill} - 0.2) } @e;   # (one started as r1 was killed fails with it)
    # A read fails too when no replica has the session's last write within causal_wait_ms.
    my @split_bad = grep { $_->[3] !~ /split brain/ || $_->[0] > $mark{split_end} + 0.5 } @split;
    is(scalar @split_bad, 0, "$name: split brain: only statements that need the primary fail, with the split-brain ERR")
        or diag($fmt->(@split_bad));
    cmp_ok(scalar(@split), '>', 0, "$name: split brain: writes were refused");

    my @fail = grep { in($_, $mark{kill}, $mark{down}) } @e;
    # (A statement started just before the kill of phase 4 fails with it.)
    my @late = grep { $_->[0] > $mark{failover} + $health_ms / 1000 && $_->[0] < $mark{down} - 0.2 } @fail;
    is(scalar @late, 0, "$name: failover: no error once the promoted server is writable (+1 health interval)")
        or diag($fmt->(@late));
    my $after_fo = grep { $_->[0] > $mark{failover} + 1 && $_->[0] < $mark{down} && $_->[1] == $new->server_id }
        @{ $r->{writes} };
    cmp_ok($after_fo, '>', 0, "$name: failover: writes reach " . $new->name);

    my @down = grep { $_->[0] >= $mark{down} + 0.5 } @e;
    my @down_w = grep { $_->[1] eq 'write' } @down;
    my @bad_w = grep { $_->[2] != 1290 || $_->[3] !~ /primary .* is down/ || $_->[4] > 0.1 } @down_w;
    cmp_ok(scalar @down_w, '>', 0, "$name: primary down: writes are refused");
    is(scalar @bad_w, 0, "$name: primary down: writes fail at once (< 100 ms) with ERR 1290 naming the state")
        or diag($fmt->(@bad_w));
    my $down_reads = 0;    # reads answered after the primary went down (round trips that got there)
    my @down_r = grep { $_->[1] eq 'read' } @down;
    note(sprintf('%s: primary down: %d read errors (sessions not caught up wait causal_wait_ms, then ERR)',
                 $name, scalar @down_r));
    note(sprintf('%s: %d round trips, %d errors in all', $name, $r->{round_trips}, scalar @e));
}
# Reads while the primary is down: the client loop's reads after a refused write are answered by
# the surviving replica when it has the session's last write.
{
    my $h = $t->connect(port => $cw{CONNECTION}->port, user => $USER{CONNECTION}, password => 'pw');
    my $ok = $h && $h->selectrow_arrayref('SELECT v FROM t WHERE id = 1');
    ok($ok, 'primary down: a new session (nothing to wait for) reads from the surviving replica')
        or diag(($DBI::err // '') . ' ' . ($DBI::errstr // '') . "\n"
                . $t->run([File::Basename::dirname(Causeway::Proxy::binary()) . '/causewayctl', '-c', $cw{CONNECTION}->cnf,
                           'replicas'], timeout => 10)->{out}
                . $t->run([File::Basename::dirname(Causeway::Proxy::binary()) . '/causewayctl', '-c', $cw{CONNECTION}->cnf,
                           'status'], timeout => 10)->{out});
    my $w = $h && $h->do('UPDATE t SET v = v + 1 WHERE id = 9');
    is($DBI::err // 0, 1290, 'primary down: a write fails with ERR 1290') or diag($DBI::errstr);
}

$t->log_is_clean($cw{$_}, $_) for sort keys %cw;
$t->done;
