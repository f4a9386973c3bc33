# pool_mode = statement (issue 12 items 1 and 4): a client between statements gives its replica
# connections back to the worker's pool, so that many mostly idle clients hold few replica
# connections, while nothing changes for the client:
# - many clients that each ran a read and stay connected hold no replica connection (the
#   servers' own process lists; with pool_mode = session each would hold one);
# - a replica connection that moves between clients carries none of the previous client's
#   state (session variables, user variables) and has the new client's replayed;
# - CONNECTION_ID(), LAST_INSERT_ID() and temporary tables stay the client's own (the primary
#   connection is never given back while the client stays);
# - SHOW WARNINGS after a read shows that read's warnings (the connection is kept until the
#   next statement), and none after a read without warnings, not the primary's;
# - a session with state on a replica connection (a prepared statement, a read-only
#   transaction) keeps that connection;
# - read-your-writes: 0 stale in parallel write/read clients, with the replicas applying
#   and with them stopped;
# - a pooled replica connection KILLed on the server is never handed out;
# - a reload and a killed worker leave no server connection behind (SHOW PROCESSLIST).
use strict;
use warnings;
use Test::More;
use JSON::PP qw(decode_json);
use Time::HiRes qw(sleep);
use lib 't/lib';
use Causeway::Test;
use Causeway::Util qw(wait_until slurp);

my $t = Causeway::Test->new;
$t->need_proxy('a proxy-side pool');
my $topo = $t->topology;
my $primary = $topo->primary;
my @replicas = $topo->replicas;
$primary->sql($_) for ('CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)',
                       'INSERT INTO test.t SELECT seq, 0 FROM test.seq_1_to_20',
                       'CREATE TABLE test.ai (id INT PRIMARY KEY AUTO_INCREMENT, x INT)');
$topo->add_markers;
# test.whoami on each server (not replicated): the server thread that reads it. A view, so
# that a read of it is a plain read (CONNECTION_ID() or @@pseudo_thread_id would go to the
# primary).
for my $s ($topo->servers) {
    $s->sql('SET SESSION sql_log_bin = 0');
    $s->sql('CREATE VIEW test.whoami AS SELECT CONNECTION_ID() AS thread');
    $s->sql('SET SESSION sql_log_bin = 1');
}
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');
my $idle_max = 2;
my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', workers => 1, pool_mode => 'statement',
                                                pool_max_idle_per_server => $idle_max } });
my $ctl = $t->root . '/bin/causewayctl';

sub app_connections {
    my ($server) = @_;
    return $server->value("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'app'");
}
sub counter { my ($name) = @_; return $t->ctl_counters($cw)->{$name} // 0 }
sub workers { return grep { (slurp("/proc/$_/comm") // '') =~ /causeway-work/ } $cw->children }
# Which server answered, and the server thread that ran the read there.
my $where = 'SELECT name, thread FROM marker, whoami';
sub where_with { return 'SELECT name, thread, ' . join(', ', @_) . ' FROM marker, whoami' }

my $probe = $t->connect;
ok(wait_until(sub { my ($n) = $probe->selectrow_array('SELECT name FROM marker'); ($n // '') =~ /^r\d$/ },
              timeout => 10, interval => 0.05), 'a plain read is answered by a replica');
$probe->disconnect;

# ---- idle clients hold no replica connection ---------------------------------------------
my $n = 60;
my $releases = counter('pool_statement_releases');
my (@idle, $on_replica);
for (1 .. $n) {
    my $h = $t->connect or last;
    my ($name) = $h->selectrow_array('SELECT name FROM marker');
    $on_replica++ if ($name // '') =~ /^r\d$/;
    push @idle, $h;
}
is(scalar @idle, $n, "$n clients logged in");
is($on_replica, $n, '... and each read from a replica');
my @held = map { app_connections($_) } @replicas;
cmp_ok($held[$_], '<=', $idle_max, "replica r" . ($_ + 1) . " holds $held[$_] connections for $n idle clients (pool_max_idle_per_server = $idle_max)")
    for 0 .. $#replicas;
is(app_connections($primary), $n, '... the primary one per client (its connection is not given back)');
cmp_ok(counter('pool_statement_releases') - $releases, '>=', $n, 'causewayctl counts the releases');
$_->disconnect for @idle;
@idle = ();

# ---- state isolation between clients sharing a replica connection -------------------------
my $a = $t->connect;
my ($a_id) = $a->selectrow_array('SELECT CONNECTION_ID()');
$a->do($_) for ('SET SESSION sql_select_limit = 3', 'SET @x = 42', "SET SESSION time_zone = '+05:00'");
my $mine = $a->selectrow_arrayref(where_with('@@sql_select_limit', '@@time_zone'));
like($mine->[0], qr/^r\d$/, 'a read with session state runs on a replica');
is_deeply([ @$mine[ 2 .. 3 ] ], [ 3, '+05:00' ], "... with the client's session variables replayed on its connection");
my $b = $t->connect;
my $theirs = $b->selectrow_arrayref(where_with('@@sql_select_limit', '@@time_zone'));
my $fresh = $t->connect(port => $replicas[0]->port);
my $want = $fresh->selectrow_arrayref('SELECT @@sql_select_limit, @@time_zone');
is($theirs->[1], $mine->[1], "the next client's read got the same server connection (thread $mine->[1] on $mine->[0])")
    if $theirs->[0] eq $mine->[0];
is_deeply([ @$theirs[ 2 .. 3 ] ], $want, "... and none of the previous client's state: as on a fresh connection")
    or diag(explain { got => $theirs, fresh => $want });
my $again = $a->selectrow_arrayref(where_with('@@sql_select_limit', '@@time_zone'));
is_deeply([ @$again[ 2 .. 3 ] ], [ 3, '+05:00' ], 'the first client still reads with its own session variables');
# A connection given back by a client whose session state another client has too (PHP's
# SET NAMES on every connect) is taken by it as it is: no reset, no COM_INIT_DB, no replay.
my @same = map { my $h = $t->connect; $h->do("SET SESSION time_zone = '+03:00'"); $h } 1 .. 2;
my $s1 = $same[0]->selectrow_arrayref(where_with('@@time_zone'));
# The replica picked for a read may be the other one: read until it is the same.
my ($s1_server) = grep { $_->name eq $s1->[0] } @replicas;
my ($s2, $init_dbs);
for (1 .. 20) {
    my $before = $s1_server->value("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'COM_CHANGE_DB'");
    $s2 = $same[1]->selectrow_arrayref(where_with('@@time_zone'));
    $init_dbs = $s1_server->value("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'COM_CHANGE_DB'") - $before;
    last if $s2->[0] eq $s1->[0];
}
is_deeply($s2, $s1, "a client with the same session state reads on the same connection ($s1->[0] thread $s1->[1]), with that state");
is($init_dbs, 0, '... taken as it was: no COM_INIT_DB');
my $other_tz = $t->connect;
$other_tz->do("SET SESSION time_zone = '+01:00'");
my $s3 = $other_tz->selectrow_arrayref(where_with('@@time_zone'));
is($s3->[2], '+01:00', "a client with another session state reads with its own (on thread $s3->[1] of $s3->[0])");
my $none = $t->connect;
is(scalar $none->selectrow_array('SELECT @@time_zone FROM marker'), $fresh->selectrow_array('SELECT @@time_zone'),
   '... and a client with none reads with the default');
$_->disconnect for (@same, $other_tz, $none);
# User variables are read on the primary connection, which stays the client's.
is(scalar $a->selectrow_array('SELECT @x'), 42, "the client's user variable is its own");
is(scalar $b->selectrow_array('SELECT @x'), undef, "... another client has none");

# CONNECTION_ID(), LAST_INSERT_ID() and temporary tables: the primary connection stays.
$a->do('INSERT INTO ai (x) VALUES (1)');
my ($a_insert) = $a->selectrow_array('SELECT LAST_INSERT_ID()');
$a->do('CREATE TEMPORARY TABLE tt (a INT)');
$a->do('INSERT INTO tt VALUES (7)');
$a->selectrow_array('SELECT name FROM marker') for 1 .. 5;
$b->do('INSERT INTO ai (x) VALUES (2)');
$b->selectrow_array('SELECT name FROM marker') for 1 .. 5;
is(scalar $a->selectrow_array('SELECT CONNECTION_ID()'), $a_id, 'CONNECTION_ID() stays the same across reads');
is(scalar $a->selectrow_array('SELECT LAST_INSERT_ID()'), $a_insert, "LAST_INSERT_ID() is still the client's own ($a_insert)");
is(scalar $a->selectrow_array('SELECT a FROM tt'), 7, 'its temporary table is still there');
my $c = $t->connect;
$c->selectrow_array('SELECT name FROM marker');
is(scalar $c->selectrow_array('SELECT LAST_INSERT_ID()'), 0, "another client's LAST_INSERT_ID() is 0");
ok(!$c->do('SELECT * FROM tt'), "... and it has no temporary table tt");
is($c->err, 1146, '... ERR 1146');

# Warnings: a read's own, then none after a read without any (not the primary's last).
my $w = $a->selectrow_arrayref(where_with('1/0'));
like($w->[0], qr/^r\d$/, 'a read with a warning runs on a replica');
my $shown = $a->selectall_arrayref('SHOW WARNINGS');
is(scalar @$shown, 1, 'SHOW WARNINGS after it shows its warning') or diag(explain $shown);
is($shown->[0][1], 1365, '... division by 0 (1365)');
is(scalar $a->selectrow_array('SELECT @@warning_count'), 1, '@@warning_count after SHOW WARNINGS is still 1');
$a->selectrow_array('SELECT 1/0 FROM t WHERE id = 1 FOR UPDATE');    # a warning on the primary
$a->selectrow_array('SELECT name FROM marker');                      # none on a replica
is_deeply($a->selectall_arrayref('SHOW WARNINGS'), [], 'after a read without warnings SHOW WARNINGS shows none (not the primary\'s)');
$a->selectrow_array('SELECT name FROM marker');
is(scalar $a->selectrow_array('SELECT @@warning_count'), 0, '... and @@warning_count is 0');
ok(!$a->do('SELECT no_such_column FROM marker'), 'a read that fails');
my $errors = $a->selectall_arrayref('SHOW ERRORS');
is($errors->[0][1], 1054, 'SHOW ERRORS after it shows its error') or diag(explain $errors);

# A session with state on a replica connection keeps it.
my $ps = $t->connect(attr => { mariadb_server_prepare => 1 });
my $sth = $ps->prepare("SELECT name, thread FROM marker, whoami WHERE name <> ?");
my %threads;
for (1 .. 5) {
    $sth->execute('x');
    my $r = $sth->fetchrow_arrayref;
    $threads{"$r->[0]/$r->[1]"}++ if $r && $r->[0] =~ /^r\d$/;
    $sth->finish;
    $b->selectrow_array('SELECT name FROM marker');    # another client's reads meanwhile
}
cmp_ok(scalar keys %threads, '<=', scalar @replicas, 'a prepared statement executes on the connection it was prepared on (one per replica at most)')
    or diag(explain \%threads);
$sth = undef;
$ps->disconnect;
my $ro = $t->connect;
$ro->do('START TRANSACTION READ ONLY');
my %in_tx;
for (1 .. 4) {
    my $r = $ro->selectrow_arrayref($where);
    $in_tx{"$r->[0]/$r->[1]"}++;
    $b->selectrow_array('SELECT name FROM marker');
}
$ro->do('COMMIT');
is(scalar keys %in_tx, 1, 'a read-only transaction keeps its replica connection to the end') or diag(explain \%in_tx);
$_->disconnect for ($a, $b, $c, $ro, $fresh);

# ---- read-your-writes ----------------------------------------------------------------------
sub ryw_clients {
    my ($rounds) = @_;
    my %jobs;
    for my $k (1 .. 4) {
        $jobs{"c$k"} = sub {
            my $h = $t->connect or return { error => $DBI::errstr };
            my ($stale, $replica, $errors) = (0, 0, 0);
            for my $i (1 .. $rounds) {
                $h->do("UPDATE t SET v = $i WHERE id = $k") or $errors++;
                my ($v, $name) = $h->selectrow_array("SELECT v, (SELECT name FROM marker) FROM t WHERE id = $k");
                $stale++ unless ($v // -1) == $i;
                $replica++ if ($name // '') =~ /^r\d$/;
                # Idle clients give their replica connection back meanwhile.
                my $other = $t->connect;
                $other->selectrow_array('SELECT name FROM marker') if $other;
                $other->disconnect if $other;
            }
            return { stale => $stale, replica => $replica, errors => $errors };
        };
    }
    return $t->run_parallel(120, %jobs);
}
my $res = ryw_clients(150);
my ($stale, $from_replica, $errs) = (0, 0, 0);
for (values %$res) { diag($_->{error}) if $_->{error}; $stale += $_->{stale} // 1; $from_replica += $_->{replica} // 0; $errs += $_->{errors} // 0 }
is($stale, 0, '4 parallel clients, 600 writes each read back at once: 0 stale');
is($errs, 0, '... no write failed');
cmp_ok($from_replica, '>', 0, "... $from_replica of 600 reads served by a replica");
$_->stop_sql_thread for @replicas;
$res = ryw_clients(30);
($stale, $from_replica) = (0, 0);
for (values %$res) { diag($_->{error}) if $_->{error}; $stale += $_->{stale} // 1; $from_replica += $_->{replica} // 0 }
is($stale, 0, 'with the replicas stopped: 0 stale of 120');
is($from_replica, 0, '... all read from the primary');
$_->start_sql_thread for @replicas;
ok($topo->wait_for_replicas(30), 'replicas catch up');

# ---- a pooled connection KILLed on the server is not handed out ----------------------------
my $k = $t->connect;
$k->selectrow_array('SELECT name FROM marker') for 1 .. 4;
my @pooled;
for my $r (@replicas) {
    push @pooled, [$r, $_->[0]]
        for @{ $r->dbh->selectall_arrayref("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'app' AND COMMAND = 'Sleep'") };
}
cmp_ok(scalar @pooled, '>', 0, scalar(@pooled) . ' pooled replica connections');
$_->[0]->sql("KILL $_->[1]") for @pooled;
ok(wait_until(sub { !grep { $_->[0]->value("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = $_->[1]") } @pooled },
              timeout => 10), '... killed');
sleep 0.1;
my ($served, %killed) = (0, map { ($_->[0]->name . "/$_->[1]" => 1) } @pooled);
my $reused_killed = 0;
for (1 .. 10) {
    my $r = $k->selectrow_arrayref($where);
    $served++ if $r && defined $r->[1];
    $reused_killed++ if $r && $killed{"$r->[0]/$r->[1]"};
}
is($served, 10, 'after a KILL of the pooled replica connections every read is served without an error')
    or diag($k->errstr);
is($reused_killed, 0, '... none on a killed connection');
$k->disconnect;

# ---- reload and a killed worker leave no server connection --------------------------------
my @open = map { my $h = $t->connect; $h->selectrow_array('SELECT name FROM marker'); $h } 1 .. 10;
my @old = workers();
kill 'HUP', $cw->pid;
ok(wait_until(sub { grep { $_ != $old[0] } workers() }, timeout => 15), 'a reload started a new worker');
my $ok = 0;
for my $h (@open) {
    my ($name) = $h->selectrow_array('SELECT name FROM marker');
    $ok++ if defined $name;
    diag('after the reload: ' . $h->errstr) unless defined $name;
}
is($ok, 10, 'the clients of the old worker are still served after the reload');
$_->disconnect for @open;
ok(wait_until(sub { !grep { app_connections($_) } $topo->servers }, timeout => 15),
   'after the reload and the clients leaving no server holds an application connection')
    or diag(join ', ', map { $_->name . ': ' . app_connections($_) } $topo->servers);
@open = map { my $h = $t->connect; $h->selectrow_array('SELECT name FROM marker'); $h } 1 .. 10;
@old = workers();
$cw->{ignore_log} = qr/killed by signal Killed/;
kill 'KILL', @old;
ok(wait_until(sub { !grep { app_connections($_) } $topo->servers }, timeout => 15),
   'a worker killed with SIGKILL: no server shows any of its connections')
    or diag(join ', ', map { $_->name . ': ' . app_connections($_) } $topo->servers);
ok(wait_until(sub { my @w = workers(); @w == 1 && $w[0] != $old[0] }, timeout => 15), 'the worker was respawned');
$_->disconnect for @open;
$t->done;
