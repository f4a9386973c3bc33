# Statements whose answer describes one server's own state belong on the primary, compared
# with the same client (the mariadb CLI, as mysqltest) run directly against the primary:
#  - B10: EXPLAIN, EXPLAIN EXTENDED (with its Note 1003), EXPLAIN FORMAT=JSON, ANALYZE and
#    ANALYZE FORMAT=JSON show the primary's plan. Here the primary has an index the replicas
#    lack (added with sql_log_bin=0), so a replica's plan differs visibly; the
#    primary_server_specific route reason counts them.
#  - B11: after SET profiling=1, SHOW PROFILES and information_schema.PROFILING list the
#    client's own statements, as directly: not Causeway's set-up statements, and not an empty
#    history because the reads ran on a replica.
#  - @@global.x reads the primary's global value.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;
use JSON::PP ();

my $t = Causeway::Test->new;
$t->need_proxy('compares a proxy with the server');
my $topo = $t->topology;
my $primary = $topo->primary;
$primary->sql($_) for (
    'CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)',
    'INSERT INTO test.t SELECT seq, seq % 50 FROM test.seq_1_to_2000',
);
$topo->add_markers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');
# The primary's own index, not replicated: its plans differ from the replicas'.
$primary->sql($_) for ('SET SESSION sql_log_bin = 0', 'ALTER TABLE test.t ADD INDEX only_on_primary (v)',
                       'SET SESSION sql_log_bin = 1');
my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', session_id => 'CONNECTION' } });
my %port = (direct => $primary->port, causeway => $cw->port);

sub cli {
    my ($how, $sql) = @_;
    my $r = $t->mariadb(['--batch', '--show-warnings', '-e', $sql], port => $port{$how}, timeout => 30);
    return $r->{exit} == 0 ? $r->{out} : "exit $r->{exit}: $r->{err}";
}

# ---- B10: EXPLAIN and ANALYZE
my @explain = (
    'EXPLAIN SELECT * FROM t WHERE v = 7',
    'EXPLAIN EXTENDED SELECT * FROM t WHERE v = 7',
    'EXPLAIN FORMAT=JSON SELECT * FROM t WHERE v = 7',
    'ANALYZE SELECT * FROM t WHERE v = 7',
    'ANALYZE FORMAT=JSON SELECT * FROM t WHERE v = 7',
);
for my $sql (@explain) {
    my %out = map { $_ => cli($_, $sql) } keys %port;
    like($out{direct}, qr/only_on_primary/, "directly, $sql uses the primary's index");
    like($out{causeway}, qr/only_on_primary/, "through Causeway, $sql shows the primary's plan");
    # Timings (r_total_time_ms, ...) differ from run to run: compare the rest.
    s/"r_\w*time\w*": [\d.e+-]+/"r_time": T/g for values %out;
    is($out{causeway}, $out{direct}, "through Causeway, $sql: the same output as directly")
        unless $sql =~ /^ANALYZE FORMAT/;
}
# The routing counter says why.
my $ctl = $t->run([$t->root . '/bin/causewayctl', '-c', $cw->cnf, '--json', 'counters'], timeout => 20);
my $counters = eval { JSON::PP::decode_json($ctl->{out}) } // {};
cmp_ok($counters->{total}{routed}{primary_server_specific} // 0, '>=', scalar @explain,
       'causewayctl counters: primary_server_specific counts them');

# ---- B11: profiling
my $profile = join('; ', 'SET profiling = 1', 'SELECT 1', "SELECT v FROM t WHERE id = 3", 'SHOW PROFILES',
                   'SELECT QUERY_ID, COUNT(*) > 0 FROM information_schema.PROFILING GROUP BY QUERY_ID',
                   'SET profiling = 0', 'SELECT 2', 'SHOW PROFILES');
my %prof = map { $_ => cli($_, $profile) } keys %port;
# Durations differ: keep the ids and the statements.
s/^(\d+)\t[\d.]+\t/$1\t-\t/mg for values %prof;
like($prof{direct}, qr/^1\t-\tSELECT 1$/m, 'directly, SHOW PROFILES lists SELECT 1 first');
is($prof{causeway}, $prof{direct}, 'through Causeway, the same profiles as directly (no set-up statement of Causeway)');
unlike($prof{causeway}, qr/session_track_system_variables|gtid_binlog_pos/, "Causeway's own statements are not listed");

# A client that turned profiling on stays on the primary, whose session keeps its history.
my $dbh = $t->connect(port => $port{causeway});
my %is_replica = map { $_->name => 1 } $topo->replicas;
ok($is_replica{ $dbh->selectrow_array('SELECT name FROM marker') // '' }, 'before profiling, a read runs on a replica');
ok($dbh->do('SET profiling = 1'), 'SET profiling = 1');
is($dbh->selectrow_array('SELECT name FROM marker'), $primary->name, 'while profiling, a read runs on the primary');
ok($dbh->do('SET profiling = 0'), 'SET profiling = 0');
is($dbh->selectrow_array('SELECT name FROM marker'), $primary->name,
   'after it, reads stay on the primary (SHOW PROFILES still shows the history)');

# ---- @@global.x: SET GLOBAL is not replicated, so only the primary has the value the client set
# (mysql-test-run's concurrent_innodb_unsafelog sets the global isolation level, then reads it).
$primary->sql('SET GLOBAL innodb_lock_wait_timeout = 7');
my $global = 'SELECT @@global.innodb_lock_wait_timeout, @@GLOBAL.`innodb_lock_wait_timeout` AS q';
my %g = map { $_ => cli($_, $global) } keys %port;
like($g{direct}, qr/^7\t7$/m, 'directly, @@global.x is the value SET GLOBAL gave');
is($g{causeway}, $g{direct}, 'through Causeway the same (the replicas still have 50)');
$primary->sql('SET GLOBAL innodb_lock_wait_timeout = DEFAULT');

$t->done;
