# The backend connection pool (issue 12): connect-per-request clients (PHP without
# persistent connections) reuse the server connections of the clients before them. The
# servers' own Connections counters give the logins per client connection; a client that
# gets a reused connection must see a fresh one: no user variables, session variables at
# their defaults (sql_mode, wait_timeout, time_zone, sql_select_limit, group_concat_max_len,
# max_statement_time, tx_isolation, div_precision_increment, on the primary's and the
# replica's connection), no temporary tables, LAST_INSERT_ID() 0, no warnings, CONNECTION_ID()
# naming its own session in the process list, no open transaction,
# and its writes tracked; a client that leaves a transaction open gives nothing to the pool (read back at once with lagging replicas). Another user never gets
# that connection; a taker has its own database selected (bridge mode too). One worker, so
# that the clients share its pool.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;
use Causeway::Util qw(wait_until);

my $t = Causeway::Test->new;
$t->need_proxy('a proxy-side pool');
my $topo = $t->topology;
my $primary = $topo->primary;
my @replicas = $topo->replicas;
$primary->sql($_) for ('CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)',
                       'INSERT INTO test.t SELECT seq, 0 FROM test.seq_1_to_10',
                       'CREATE TABLE test.ai (id INT PRIMARY KEY AUTO_INCREMENT, x INT)');
$topo->add_markers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');
my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', workers => 1 } });

sub logins {
    my $n = 0;
    $n += $_->value("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'CONNECTIONS'")
        for $topo->servers;
    return $n;
}
# Settle: the poller has reported the replicas (reads leave the primary).
my $probe = $t->connect(port => $cw->port);
ok(wait_until(sub { my ($n) = $probe->selectrow_array('SELECT name FROM marker'); ($n // '') =~ /^r\d$/ },
              timeout => 10, interval => 0.05), 'a plain read is answered by a replica');
$probe->disconnect;

# Connect, one read, disconnect, 100 times (after one round to fill the pool).
my $one = sub { my $h = $t->connect(port => $cw->port) or return 0; my ($v) = $h->selectrow_array('SELECT v FROM t WHERE id = 1'); $h->disconnect; return defined $v };
$one->();
my $before = logins();
my $ok = 0;
$ok += $one->() for 1 .. 100;
my $per_client = (logins() - $before) / 100;
is($ok, 100, '100 connect / read / disconnect clients are served');
cmp_ok($per_client, '<=', 0.1, "server logins per client connection: $per_client (each client logged in to the primary and a replica without the pool)");

# A reused connection looks fresh.
my $a = $t->connect(port => $cw->port);
my ($a_thread) = $a->selectrow_array('SELECT CONNECTION_ID() FROM t WHERE id = 1 FOR UPDATE');
$a->do($_) for ('SET @x = 42', "SET SESSION sql_mode = 'ANSI'", 'CREATE TEMPORARY TABLE tt (a INT)',
                'INSERT INTO ai (x) VALUES (1)', 'SET SESSION wait_timeout = 77');
$a->do('SELECT 1/0');    # a warning
$a->disconnect;
my $b = $t->connect(port => $cw->port);
my $fresh = $t->connect(port => $primary->port);    # what a fresh server session shows
my $state = 'SELECT CONNECTION_ID(), @x, @@sql_mode, LAST_INSERT_ID(), @@wait_timeout, @@in_transaction FROM t WHERE id = 1 FOR UPDATE';
my $got = $b->selectrow_arrayref($state);
my $want = $fresh->selectrow_arrayref($state);
is($got->[0], $a_thread, "the next client got the previous client's server connection (thread $a_thread)");
is_deeply([ @$got[ 1 .. 5 ] ], [ @$want[ 1 .. 5 ] ], 'user variable, sql_mode, LAST_INSERT_ID(), wait_timeout, no transaction: as on a fresh connection')
    or diag(explain { got => $got, fresh => $want });
ok(!$b->do('SELECT * FROM tt'), 'the temporary table is gone');
is($b->err, 1146, '... ERR 1146');
# Warnings, CONNECTION_ID() and the session variables a client may change, on both of its
# server connections (the primary's and a replica's), after a client that changed them all.
my $a2 = $t->connect(port => $cw->port);
my ($a2_thread) = $a2->selectrow_array('SELECT CONNECTION_ID() FROM t WHERE id = 1 FOR UPDATE');
$a2->do($_) for ("SET SESSION time_zone = '+05:00'", 'SET SESSION sql_select_limit = 3',
                 'SET SESSION group_concat_max_len = 77', 'SET SESSION max_statement_time = 100',
                 "SET SESSION tx_isolation = 'SERIALIZABLE'", 'SET SESSION div_precision_increment = 9');
$a2->selectrow_array('SELECT 1/0 FROM t WHERE id = 1 FOR UPDATE');    # a warning on the primary
$a2->selectrow_array('SELECT 1/0 FROM t WHERE id = 1');               # ... and on a replica
$a2->disconnect;
my $b2 = $t->connect(port => $cw->port);
my $fresh2 = $t->connect(port => $primary->port);
my $first = 'SHOW WARNINGS';
is_deeply($b2->selectall_arrayref($first), $fresh2->selectall_arrayref($first),
          "the first SHOW WARNINGS shows no earlier client's warnings");
my $vars = 'SELECT @@time_zone, @@sql_select_limit, @@group_concat_max_len, @@max_statement_time, '
         . '@@tx_isolation, @@div_precision_increment, @@warning_count';
my $want2 = [ @{ $fresh2->selectrow_arrayref("$vars FROM t WHERE id = 1") // [] } ];
my $on_primary = [ @{ $b2->selectrow_arrayref("$vars, CONNECTION_ID() FROM t WHERE id = 1 FOR UPDATE") // [] } ];
is(pop @$on_primary, $a2_thread, "the next client got that client's primary connection (thread $a2_thread)");
is_deeply($on_primary, $want2, '@@session variables on it are as on a fresh connection')
    or diag(explain { got => $on_primary, fresh => $want2 });
my $on_replica = [ @{ $b2->selectrow_arrayref("$vars FROM t WHERE id = 1") // [] } ];
is_deeply($on_replica, $want2, '... and on its replica connection') or diag(explain { got => $on_replica, fresh => $want2 });
my $me = 'SELECT USER, DB, COMMAND FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()';
is_deeply($b2->selectall_arrayref($me), $fresh2->selectall_arrayref($me),
          "CONNECTION_ID() names the client's own server session in the server's process list");
$b2->disconnect;
$fresh2->disconnect;

# A client that leaves with a transaction open (or tables locked) gives nothing to the pool:
# the server's own disconnect rolls it back, as without a proxy.
my $c = $t->connect(port => $cw->port);
my ($c_thread) = $c->selectrow_array('SELECT CONNECTION_ID() FROM t WHERE id = 1 FOR UPDATE');
$c->do('BEGIN');
$c->do('UPDATE t SET v = v + 1 WHERE id = 2');
$c->disconnect;
ok(wait_until(sub { $primary->value('SELECT v FROM test.t WHERE id = 2') == 0 }, timeout => 5),
   "a client's open transaction is rolled back when it leaves");
my $d = $t->connect(port => $cw->port);
my ($d_thread) = $d->selectrow_array('SELECT CONNECTION_ID() FROM t WHERE id = 1 FOR UPDATE');
isnt($d_thread, $c_thread, '... and its server connection was not pooled');
$d->disconnect;
$_->stop_sql_thread for @replicas;
my $stale = 0;
for my $i (1 .. 10) {
    $b->do("UPDATE t SET v = $i WHERE id = 3");
    my ($v) = $b->selectrow_array('SELECT v FROM t WHERE id = 3');
    $stale++ unless ($v // -1) == $i;
}
is($stale, 0, 'its writes are tracked: read back at once with lagging replicas (0 stale of 10)');
$_->start_sql_thread for @replicas;
$b->disconnect;
my $other = $t->connect(port => $cw->port, user => 'app2', password => 'secret2');
my ($o_thread, $o_user) = $other->selectrow_array('SELECT CONNECTION_ID(), CURRENT_USER() FROM t WHERE id = 1 FOR UPDATE');
isnt($o_thread, $a_thread, "another user does not get app's pooled connection");
like($o_user, qr/^app2@/, '... it is logged in as itself');
$other->disconnect;
$fresh->disconnect;
# A reused connection has the taker's database selected, whatever the client before it did
# with its own (B12, found by mtr in bridge mode: 48 tests got ERR 1046 "No database
# selected" at their first statement): it dropped its database (the server session then has
# none), or left another one selected by USE, which bridge mode does not follow.
my $bridge = $t->causeway(config => { causeway => { mode => 'bridge', workers => 1 } });
for my $proxy ($bridge, $cw) {
    my $mode = $proxy == $bridge ? 'bridge' : 'smartscale';
    for my $leave ('DROP DATABASE pooldb; CREATE DATABASE pooldb', 'USE mysql') {
        # (Smartscale follows USE: that connection is pooled for clients of database mysql.)
        next if $mode eq 'smartscale' && $leave =~ /^USE/;
        $primary->sql('CREATE DATABASE IF NOT EXISTS pooldb');
        my $first = $t->mariadb(['-N', '-e', "SELECT CONNECTION_ID() FOR UPDATE; $leave"],
                                port => $proxy->port, db => 'pooldb');
        my $next = $t->mariadb(['-N', '-e', 'SELECT CONNECTION_ID(), DATABASE() FOR UPDATE; '
                                . 'CREATE TABLE pooled (a INT); DROP TABLE pooled'], port => $proxy->port, db => 'pooldb');
        chomp(my $id = $first->{out});
        is($next->{out}, "$id\tpooldb\n", "$mode, after a client's '$leave': the next client gets its "
           . 'server connection with its own database selected') or diag($first->{err} . $next->{err});
        is($next->{err}, '', '... and creates a table in it (no ERR 1046)');
    }
}
$primary->sql('DROP DATABASE pooldb');

ok($topo->wait_for_replicas(30), 'replicas catch up');
$t->done;
