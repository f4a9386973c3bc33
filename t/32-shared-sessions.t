# Sessions shared by several connections (issue 4 item 10): under USER, DATABASE and
# PROVIDED_IN_DBNAME two connections that share the session key see each other's writes
# (connection A writes, connection B reads right away, 1000 times, never stale), including
# the "SmartScale exploit" of DESIGN §2 (under DATABASE, a connection on db `test` reading
# `db2.t2` must see the writes of the db2 session). Under CONNECTION, sessions do not wait
# for each other: B's reads are served by replicas while A writes continuously, even by a
# replica whose SQL thread is stopped (B has no writes of its own to wait for). A USER session
# outlives the worker process that recorded its write (SIGKILL).
# Where reads landed comes from information_schema.USER_STATISTICS (userstat) on the
# servers: each connection logs in as its own user.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;
use Causeway::Wire;
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(time sleep);

my $t = Causeway::Test->new;
$t->need_proxy('read/write splitting');
my $topo = $t->topology;
my $primary = $topo->primary;
my ($r1, $r2) = $topo->replicas;

my @USERS = qw(sh_user sh_db_a sh_db_b sh_prov_a sh_prov_b sh_x_a sh_x_b conn_a conn_b);
$primary->sql($_) for (
    'CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)',
    'INSERT INTO test.t SELECT seq, 0 FROM test.seq_1_to_100',
    'CREATE DATABASE db2',
    'CREATE TABLE db2.t2 (id INT PRIMARY KEY, v INT NOT NULL)',
    'INSERT INTO db2.t2 SELECT seq, 0 FROM test.seq_1_to_10',
    map { ("CREATE USER '$_'\@'%' IDENTIFIED BY 'pw'", "GRANT ALL PRIVILEGES ON *.* TO '$_'\@'%'",
           "REVOKE READ_ONLY ADMIN ON *.* FROM '$_'\@'%'") } @USERS,
);
$_->sql('SET GLOBAL userstat = 1') for $topo->servers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');

my %users = (users => { map { $_ => 'pw' } @USERS });
my %cw = map { $_ => $t->causeway(config => { causeway => { mode => 'smartscale', session_id => $_ },
                                               %users }) }
         qw(USER DATABASE PROVIDED_IN_DBNAME);
$cw{CONNECTION} = $t->causeway(config => {
    causeway => { mode => 'smartscale', session_id => 'CONNECTION', replica_selection => 'round_robin' },
    %users });

sub rows_read {
    my %r;
    for my $s ($topo->servers) {
        my $rows = $s->sql('SELECT USER, ROWS_READ FROM information_schema.USER_STATISTICS');
        $r{ $s->name }{ $_->[0] } = $_->[1] for @$rows;
    }
    return \%r;
}

sub served {
    my ($before, $after, $user) = @_;
    return { map { my $s = $_->name; ($s => ($after->{$s}{$user} // 0) - ($before->{$s}{$user} // 0)) }
             $topo->replicas };
}

sub com_select {
    my %r;
    $r{ $_->name } = $_->sql("SHOW GLOBAL STATUS LIKE 'Com_select'")->[0][1] for $topo->servers;
    return \%r;
}

sub latency_summary {
    my ($r, $lat) = @_;
    my @s = sort { $a <=> $b } @$lat;
    @$r{qw(p50_ms p99_ms max_ms)} = map { defined $_ ? $_ * 1000 : undef } percentile(\@s, 50), percentile(\@s, 99), $s[-1];
}

# A writes (UPDATE $table SET v=? WHERE id=?), B reads it back right away ($read_sql), n times.
sub share_client {
    my (%o) = @_;
    my %r = (done => 0, stale => 0, errors => 0);
    my $ca = $t->connect(port => $o{port}, user => $o{a}{user}, password => 'pw', db => $o{a}{db})
        or return { %r, error => "connect A as $o{a}{user} to '$o{a}{db}': $DBI::err $DBI::errstr" };
    my $cb = $t->connect(port => $o{port}, user => $o{b}{user}, password => 'pw', db => $o{b}{db})
        or return { %r, error => "connect B as $o{b}{user} to '$o{b}{db}': $DBI::err $DBI::errstr" };
    my $upd = $ca->prepare("UPDATE $o{table} SET v = ? WHERE id = ?");
    my $sel = $cb->prepare($o{read_sql});
    my @lat;
    for my $i (1 .. $o{n}) {
        if (time > $o{deadline}) { $r{timed_out} = 1; last }
        my $v = $o{base} + $i;
        my $rows = $upd->execute($v, $o{row});
        if (!$rows || $rows != 1) {
            $r{errors}++;
            $r{first_error} //= "A's UPDATE #$i: " . ($DBI::err ? "ERR $DBI::err $DBI::errstr" : "affected $rows");
            next;
        }
        my $t0 = time;
        my $ok = $sel->execute($o{row});
        my ($got) = $ok ? $sel->fetchrow_array : ();
        push @lat, time - $t0;
        $sel->finish;
        if (!$ok) {
            $r{errors}++;
            $r{first_error} //= "B's SELECT #$i: ERR $DBI::err $DBI::errstr";
            next;
        }
        if (!defined $got || $got != $v) {
            $r{stale}++;
            $r{first_stale} //= "round trip #$i: A wrote $v, B read " . ($got // 'NULL');
        }
        $r{done}++;
    }
    latency_summary(\%r, \@lat);
    return \%r;
}

# ---- A writes, B reads right away: shared USER, DATABASE and provided session ids -------------

my $N = 1000;
my %cases = (
    USER => { port => $cw{USER}->port, a => { user => 'sh_user', db => 'test' },
              b => { user => 'sh_user', db => 'test' }, table => 't', row => 1,
              read_sql => 'SELECT v FROM t WHERE id = ?', reader => 'sh_user',
              what => 'two connections of one user (USER)' },
    DATABASE => { port => $cw{DATABASE}->port, a => { user => 'sh_db_a', db => 'test' },
                  b => { user => 'sh_db_b', db => 'test' }, table => 't', row => 2,
                  read_sql => 'SELECT v FROM t WHERE id = ?', reader => 'sh_db_b',
                  what => 'two users on database test (DATABASE)' },
    PROVIDED => { port => $cw{PROVIDED_IN_DBNAME}->port, a => { user => 'sh_prov_a', db => 'test?sessionId=shared-1' },
                  b => { user => 'sh_prov_b', db => 'test?sessionId=shared-1' }, table => 't', row => 3,
                  read_sql => 'SELECT v FROM t WHERE id = ?', reader => 'sh_prov_b',
                  what => 'two users with sessionId=shared-1 (PROVIDED_IN_DBNAME)' },
    EXPLOIT => { port => $cw{DATABASE}->port, a => { user => 'sh_x_a', db => 'db2' },
                 b => { user => 'sh_x_b', db => 'test' }, table => 't2', row => 1,
                 read_sql => 'SELECT v FROM db2.t2 WHERE id = ?', reader => 'sh_x_b',
                 what => 'DATABASE: A on db2 writes t2, B on test reads db2.t2 (DESIGN §2 exploit)' },
);
my $before = rows_read();
my $deadline = time + 30;
my $res = $t->run_parallel(45, map { my $c = $cases{$_};
                                  ($_ => sub { share_client(%$c, n => $N, base => 1000, deadline => $deadline) }) }
                           sort keys %cases);
my $after = rows_read();
for my $name (sort keys %cases) {
    my $c = $cases{$name};
    my $r = $res->{$name};
    next unless is($r->{error} // '', '', "$c->{what}: clients connected and ran");
    is($r->{done}, $N, "$c->{what}: $N write-then-read round trips within 30 s")
        or diag($r->{timed_out} ? "timed out after $r->{done}" : "completed $r->{done}");
    is($r->{errors}, 0, "$c->{what}: no error") or diag($r->{first_error});
    is($r->{stale}, 0, "$c->{what}: B never reads older than A's write") or diag($r->{first_stale});
    my $s = served($before, $after, $c->{reader});
    my $on = $s->{r1} + $s->{r2};
    note(sprintf("%s: B's reads served by r1 %d, r2 %d, primary %d of %d; p50 %.2f ms, p99 %.2f ms",
                 $c->{what}, $s->{r1}, $s->{r2}, $N - $on, $N, map { $_ // -1 } @$r{qw(p50_ms p99_ms)}));
    cmp_ok($on, '>=', $N / 4, "$c->{what}: at least a quarter of B's reads are served by replicas "
           . '(USER_STATISTICS; a sanity floor: DESIGN §6 aims at 95%)');
}

# ---- CONNECTION: B does not wait for A's writes ------------------------------------------------

# A (conn_a) updates row 50 as fast as it can until B (conn_b) has done its reads of row 50.
sub independent_readers {
    my ($label, $reads, %check) = @_;
    my $stop = $t->dir . '/stop-writer';
    unlink $stop;
    my $port = $cw{CONNECTION}->port;
    my $deadline = time + 20;
    my $b0 = rows_read();
    my $c0 = com_select();
    my $res = $t->run_parallel(35,
        writer => sub {
            my %r = (writes => 0, errors => 0);
            my $ca = $t->connect(port => $port, user => 'conn_a', password => 'pw')
                or return { error => "connect A: $DBI::errstr" };
            my $upd = $ca->prepare('UPDATE t SET v = ? WHERE id = 50');
            my $i = 0;
            while (!-e $stop && time < $deadline) {
                my $rows = $upd->execute(++$i);
                if ($rows && $rows == 1) { $r{writes}++ } else { $r{errors}++; $r{first_error} //= "$DBI::err $DBI::errstr" }
            }
            return \%r;
        },
        reader => sub {
            my %r = (done => 0, errors => 0);
            my $cb = $t->connect(port => $port, user => 'conn_b', password => 'pw')
                or do { spit($stop, ''); return { error => "connect B: $DBI::errstr" } };
            sleep 0.2;    # let the writer get going
            my $sel = $cb->prepare('SELECT v FROM t WHERE id = 50');
            my @lat;
            for (1 .. $reads) {
                last if time > $deadline;
                my $t0 = time;
                my $ok = $sel->execute;
                my ($got) = $ok ? $sel->fetchrow_array : ();
                push @lat, time - $t0;
                $sel->finish;
                if ($ok && defined $got) { $r{done}++ } else { $r{errors}++; $r{first_error} //= "$DBI::err $DBI::errstr" }
            }
            spit($stop, '');
            latency_summary(\%r, \@lat);
            return \%r;
        });
    my $b1 = rows_read();
    my $c1 = com_select();
    my ($w, $r) = @$res{qw(writer reader)};
    return unless is(($w->{error} // '') . ($r->{error} // ''), '', "$label: both connections ran");
    is($r->{done}, $reads, "$label: B completed $reads reads");
    is($r->{errors} + $w->{errors}, 0, "$label: no error")
        or diag($r->{first_error} // $w->{first_error});
    cmp_ok($w->{writes}, '>=', 20, "$label: A kept writing meanwhile ($w->{writes} writes)");
    my $s = served($b0, $b1, 'conn_b');
    note(sprintf("%s: B's reads served by r1 %d, r2 %d of %d; p50 %.2f ms, p99 %.2f ms; Com_select deltas "
                 . 'primary %d, r1 %d, r2 %d (include the poller\'s)', $label, $s->{r1}, $s->{r2}, $reads,
                 (map { $_ // -1 } @$r{qw(p50_ms p99_ms)}), map { $c1->{$_} - $c0->{$_} } qw(primary r1 r2)));
    cmp_ok($s->{r1} + $s->{r2}, '>=', 0.8 * $reads,
           "$label: at least 80% of B's reads are served by replicas while A writes");
    cmp_ok($c1->{$_} - $c0->{$_}, '>=', $s->{$_}, "$label: Com_select on $_ grew by at least its reads of B")
        for qw(r1 r2);
    $check{extra}->($s) if $check{extra};
}

independent_readers('CONNECTION, replicas running', 500);

$r1->stop_sql_thread;
independent_readers("CONNECTION, r1's SQL thread stopped", 300, extra => sub {
    my ($s) = @_;
    cmp_ok($s->{r1}, '>', 0, "CONNECTION, r1's SQL thread stopped: r1 still serves B, who has written "
           . 'nothing since the proxy started (DESIGN §4: r1 is at the floor, B needs no more)');
});
$r1->start_sql_thread;

# ---- USER: the session outlives the worker that recorded it (DESIGN §3: state is in shm) -------

# With both SQL threads stopped a read that lost A's position would be served stale by a
# replica (they are at the floor); with it, the read must wait and go to the primary.
$_->stop_sql_thread for $r1, $r2;
{
    my $cwu = $cw{USER};
    my @bad;
    my @killed;
    for my $k (1 .. 3) {
        my $w = Causeway::Wire->new(port => $cwu->port, timeout => 10);
        my $l = $w->login(user => 'sh_user', password => 'pw', db => 'test');
        if ($l->{type} ne 'ok') { push @bad, "#$k: login: " . ($l->{message} // $l->{type}); next }
        my $v = 7000 + $k;
        my ($r) = $w->query("UPDATE t SET v = $v WHERE id = 9");
        if ($r->{type} ne 'ok') { push @bad, "#$k: UPDATE: " . ($r->{message} // $r->{type}); next }
        my $victim = pid_of_connection($cwu->port, $w->local_port, $cwu->children);
        if (!$victim) { push @bad, "#$k: no worker found for A's connection"; next }
        push @killed, $victim;
        $cwu->{ignore_log} = qr/\b(?:@{[join '|', @killed]})\b/;    # the supervisor may report the kill loudly
        kill 'KILL', $victim;
        my $b;
        wait_until(sub { $b = $t->connect(port => $cwu->port, user => 'sh_user', password => 'pw') }, timeout => 10);
        if (!$b) { push @bad, "#$k: B could not connect after the kill: $DBI::errstr"; next }
        my $got = ($b->selectrow_array('SELECT v FROM t WHERE id = 9'))[0] // "ERR $DBI::errstr";
        push @bad, "#$k: A wrote $v, its worker (pid $victim) was killed, B read $got" if $got ne $v;
        $b->disconnect;
        $w->close;
    }
    is(join("\n", @bad), '', "USER: A writes, A's worker is killed (SIGKILL), B of the same user reads A's write "
       . '(3 times, both SQL threads stopped)');
}
$_->start_sql_thread for $r1, $r2;

$t->log_is_clean($cw{$_}, $_) for sort keys %cw;
$t->done;
