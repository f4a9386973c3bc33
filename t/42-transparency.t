# Differences from the server found with real clients (issue 7 items 4 and 5b), each compared
# with the same client run directly against the primary:
#  - a write inside START TRANSACTION READ ONLY gets the primary's ERR 1792, not the
#    replica's 1290, and SHOW WARNINGS, SHOW ERRORS, @@error_count and GET DIAGNOSTICS after it
#    (mariadb --show-warnings, DBD::MariaDB) show that 1792 alone;
#  - FOUND_ROWS() and ROW_COUNT() after a read a replica answered are that read's outcome
#    (mtr main.select_pkeycache); after FLUSH STATUS, SHOW STATUS counts the session's own
#    statements (mtr main.join_outer_jcl6): its reads stay on the primary;
#  - while LOCK TABLES holds locks everything stays on the primary (ERR 1100 for a table not
#    locked, as the server says); mariadb-dump (default and --lock-all-tables) through
#    Causeway equals a direct dump, AUTO_INCREMENT of SHOW CREATE TABLE included (the
#    primary's counter is ahead of the replicas' after a rolled-back insert);
#  - a statement ending in a NUL byte (mariadb-slap) is classified like any other;
#  - a prepared SELECT whose earlier executes ran on a replica falls back to the primary
#    without ERR 1210 (mysqli binds its parameters once);
#  - COM_CHANGE_USER to an unknown user answers ERR 1045 like the server (mysqli).
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;
use Causeway::Util qw(wait_until spit);
use JSON::PP ();

my $t = Causeway::Test->new;
$t->need_proxy('read/write splitting');
my $topo = $t->topology;
my $primary = $topo->primary;
my @replicas = $topo->replicas;
my %is_replica = map { $_->name => 1 } @replicas;

$primary->sql($_) for (
    'CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)',
    'INSERT INTO test.t SELECT seq, seq * 10 FROM test.seq_1_to_10',
    'CREATE TABLE test.ai (id INT PRIMARY KEY AUTO_INCREMENT, x INT) ENGINE=InnoDB',
    'INSERT INTO test.ai (x) VALUES (1), (2), (3)',
);
# A rolled-back insert moves the primary's AUTO_INCREMENT only.
my $pdbh = $primary->dbh;
$pdbh->begin_work;
$pdbh->do('INSERT INTO test.ai (x) VALUES (4), (5)');
$pdbh->rollback;
$topo->add_markers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');
my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', session_id => 'CONNECTION' } });
my %port = (direct => $primary->port, causeway => $cw->port);

my %h = map { $_ => $t->connect(port => $port{$_}) } keys %port;
ok($h{$_}, "$_: DBD::MariaDB connects") for sort keys %h;
my $c = $h{causeway};
ok(wait_until(sub { my $r = $c->selectrow_arrayref('SELECT name FROM marker'); $r && $is_replica{ $r->[0] } },
              timeout => 10, interval => 0.05), 'a plain read is answered by a replica');

sub err_of { my ($dbh, $sql) = @_; return $dbh->do($sql) ? 'ok' : join(' ', $dbh->err, $dbh->state, $dbh->errstr) }

# ---- a write in a read-only transaction
for my $how (sort keys %h) {
    ok($h{$how}->do('START TRANSACTION READ ONLY'), "$how: START TRANSACTION READ ONLY");
}
my $ro_read = $c->selectrow_arrayref('SELECT name FROM marker');
ok($ro_read && $is_replica{ $ro_read->[0] }, 'the read-only transaction runs on a replica');
my %err = map { $_ => err_of($h{$_}, 'INSERT INTO t VALUES (99, 1)') } keys %h;
like($err{direct}, qr/^1792 25006 /, "directly: $err{direct}");
is($err{causeway}, $err{direct}, 'through Causeway: the same error as the primary gives');
ok($h{$_}->do('ROLLBACK'), "$_: ROLLBACK") for sort keys %h;
# The same write prepared server-side (PDO native, DBD server prepares): the server refuses
# it at prepare time (make compat B4: through Causeway it hung).
my %ps = map { $_ => $t->connect(port => $port{$_}, attr => { mariadb_server_prepare => 1 }, read_timeout => 10) } keys %port;
for my $how (sort keys %ps) {
    $ps{$how}->do('START TRANSACTION READ ONLY');
    $ps{$how}->selectrow_array('SELECT v FROM t WHERE id = 1');
    $err{$how} = err_of($ps{$how}, 'INSERT INTO t VALUES (98, 1)');
    $ps{$how}->do('ROLLBACK');
}
like($err{direct}, qr/^1792 25006 /, "directly, prepared: $err{direct}");
is($err{causeway}, $err{direct}, 'through Causeway, prepared: the same error, no hang');
$_->disconnect for values %ps;

# ---- LOCK TABLES
%err = map { $_ => err_of($h{$_}, 'LOCK TABLES t READ, marker READ') } keys %h;
is($err{causeway}, 'ok', 'LOCK TABLES t READ, marker READ');
my %r;
for my $how (sort keys %h) {
    $r{$how} = [ map { err_of($h{$how}, $_) } 'SELECT * FROM ai', 'SELECT v FROM t WHERE id = 1' ];
}
like($r{direct}[0], qr/^1100 /, "directly, a table not locked: $r{direct}[0]");
is_deeply($r{causeway}, $r{direct}, 'through Causeway: the same answers while tables are locked');
my %by;
$by{ ($c->selectrow_array('SELECT name FROM marker'))[0] // 'ERR' }++ for 1 .. 5;
is_deeply(\%by, { primary => 5 }, 'reads run on the primary while tables are locked');
ok($h{$_}->do('UNLOCK TABLES'), "$_: UNLOCK TABLES") for sort keys %h;
%by = ();
$by{ ($c->selectrow_array('SELECT name FROM marker'))[0] // 'ERR' }++ for 1 .. 5;
ok(!$by{primary}, 'after UNLOCK TABLES reads leave the primary again') or diag(explain \%by);

# ---- mariadb-dump: the same bytes through Causeway as directly (markers say who answered)
is($c->selectrow_arrayref('SHOW CREATE TABLE ai')->[1], $pdbh->selectrow_arrayref('SHOW CREATE TABLE test.ai')->[1],
   "SHOW CREATE TABLE shows the primary's AUTO_INCREMENT");
for my $opts ([], ['--lock-all-tables']) {
    my %dump;
    for my $how (sort keys %port) {
        my $r = $t->run([ 'mariadb-dump', '-h127.0.0.1', "-P$port{$how}", '-uapp', '-psecret', '--skip-dump-date',
                          @$opts, 'test' ], timeout => 60);
        is($r->{exit}, 0, "$how: mariadb-dump @$opts exits 0") or diag($r->{err});
        $dump{$how} = $r->{out};
    }
    ok(length $dump{direct} > 1000 && $dump{causeway} eq $dump{direct}, "mariadb-dump @$opts: the same dump")
        or diag(join "\n", grep { /^[-+][^-+]/ } split /\n/, $t->run([ 'diff', map { spit($t->dir . "/dump.$_", $dump{$_}); $t->dir . "/dump.$_" } qw(direct causeway) ])->{out});
}

# ---- the diagnostics of a read answered by a replica (make compat: every driver, B1)
%r = ();
for my $how (sort keys %h) {
    my $x = $h{$how};
    $x->do(q{DO 1});
    my $row = $x->selectrow_arrayref(q{SELECT CAST('12abc' AS INTEGER) AS c, 1/0 AS z FROM marker LIMIT 1});
    $r{$how} = [ $row, $x->selectall_arrayref('SHOW WARNINGS'), $x->selectrow_arrayref('SELECT @@warning_count') ];
}
is_deeply($r{causeway}, $r{direct}, 'SHOW WARNINGS and @@warning_count after a read show that read\'s warnings')
    or diag(explain \%r);

# ---- the diagnostics of a write refused in a read-only transaction (make compat cli+dump, B1):
# the replica refused it with 1290 and the client got the primary's 1792; SHOW WARNINGS and
# its kind, which run on that replica, must show the 1792 alone. The CLI prints the warnings
# after an error (--show-warnings), skipping a duplicate of the error it just printed.
my $ro_sql = join('; ', 'START TRANSACTION READ ONLY', 'SELECT v FROM t WHERE id = 1', 'INSERT INTO t VALUES (97, 1)',
                  'SHOW WARNINGS', 'SELECT @@warning_count, @@error_count', 'SHOW COUNT(*) ERRORS',
                  'GET DIAGNOSTICS CONDITION 1 @s = RETURNED_SQLSTATE, @e = MYSQL_ERRNO, @m = MESSAGE_TEXT',
                  'SELECT @s, @e, @m', 'COMMIT', 'SELECT 1 AS after_commit');
my %cli;
for my $how (sort keys %port) {
    my $r = $t->mariadb(['--batch', '--force', '--show-warnings', '-vv'], stdin => "$ro_sql;\n", port => $port{$how},
                        timeout => 30);
    $cli{$how} = "exit $r->{exit}\n$r->{out}$r->{err}";
}
like($cli{direct}, qr/^Error\t1792\tCannot execute statement in a READ ONLY transaction$/m,
     'directly, SHOW WARNINGS shows the 1792');
is($cli{causeway}, $cli{direct}, 'mariadb --show-warnings: the diagnostics of the refused write are the primary\'s 1792 alone')
    or diag(join "\n", grep { /1290|1792/ } split /\n/, $cli{causeway});
%r = ();
for my $how (sort keys %h) {
    my $x = $h{$how};
    $x->do('START TRANSACTION READ ONLY');
    $x->selectrow_array('SELECT v FROM t WHERE id = 1');
    $x->do('INSERT INTO t VALUES (96, 1)');
    $r{$how} = [ $x->selectall_arrayref('SHOW ERRORS'), $x->selectrow_arrayref('SELECT @@error_count'),
                 $x->selectall_arrayref('SHOW WARNINGS') ];
    push @{ $r{$how} }, $x->do('COMMIT') ? 'committed' : $x->errstr;
}
is_deeply($r{causeway}, $r{direct}, 'DBD::MariaDB: SHOW ERRORS, @@error_count, SHOW WARNINGS after the refused write as directly')
    or diag(explain \%r);

# ---- FOUND_ROWS() and ROW_COUNT() read the outcome of the previous statement (mtr
# main.select_pkeycache): after a read a replica answered they are that replica's, not the
# primary's (whose last statement found 10 rows and changed one).
sub read_on_replica {    # the session's read of 3 rows, answered by a replica through Causeway
    my ($x, $how) = @_;
    my $rows;
    wait_until(sub { $rows = $x->selectall_arrayref('SELECT m.name, t.v FROM marker m JOIN t ON t.id <= 3');
                     $how eq 'direct' || $is_replica{ $rows->[0][0] // '' } }, timeout => 10, interval => 0.05);
    return $rows->[0][0] // 'ERR';
}
%r = ();
for my $how (sort keys %h) {
    my $x = $h{$how};
    my @seen;
    for my $probe ('SELECT FOUND_ROWS()', 'SELECT ROW_COUNT()') {
        $x->selectrow_array('SELECT SQL_CALC_FOUND_ROWS id FROM t LIMIT 1');
        $x->do('UPDATE t SET v = v + 1 WHERE id = 10');
        push @seen, read_on_replica($x, $how), $x->selectrow_array($probe);
    }
    my $sth = $x->prepare('SELECT FOUND_ROWS()', { mariadb_server_prepare => 1 });
    $x->selectrow_array('SELECT SQL_CALC_FOUND_ROWS id FROM t LIMIT 1');
    push @seen, read_on_replica($x, $how), $sth && $sth->execute ? ($sth->fetchrow_array)[0] : 'ERR ' . $x->errstr;
    $r{$how} = \@seen;
}
ok(!grep({ !$is_replica{$_} } @{ $r{causeway} }[0, 2, 4]), 'through Causeway the reads ran on replicas')
    or diag(explain \%r);
is_deeply([ @{ $r{causeway} }[1, 3, 5] ], [ @{ $r{direct} }[1, 3, 5] ],
          'FOUND_ROWS(), ROW_COUNT() and a prepared FOUND_ROWS() after a replica\'s read: as directly (3, -1, 3)')
    or diag(explain \%r);

# ---- FLUSH STATUS: the client counts what its next statements do (mtr main.join_outer_jcl6,
# main.count_distinct2); only the primary's session runs them all, so they stay there.
%r = ();
for my $how (sort keys %port) {
    my $x = $t->connect(port => $port{$how});
    $x->do('FLUSH STATUS');
    my $n = $x->selectrow_array('SELECT COUNT(*) FROM t WHERE v > 0');
    $r{$how} = [ $n, $x->selectall_arrayref(q{SHOW STATUS LIKE 'Handler_read_rnd_next'}),
                 $x->selectrow_array('SELECT name FROM marker') ];
    $x->disconnect;
}
is($r{causeway}[2], 'primary', 'after FLUSH STATUS the session\'s reads run on the primary');
is_deeply([ @{ $r{causeway} }[0, 1] ], [ @{ $r{direct} }[0, 1] ], 'SHOW STATUS after FLUSH STATUS counts the read as directly')
    or diag(explain \%r);

# ---- a statement ending in a NUL byte
%by = ();
for (1 .. 6) {
    my $sth = $c->prepare("SELECT name FROM marker\0", { mariadb_server_prepare => 0 });
    $sth->execute;
    $by{ ($sth->fetchrow_array)[0] // 'ERR' }++;
}
my $on = 0;
$on += $by{$_} // 0 for keys %is_replica;
cmp_ok($on, '>=', 4, "a read ending in a NUL byte is answered by replicas ($on of 6)");

$_->disconnect for values %h;

# ---- mysqli: a prepared read falling back to the primary; change_user to an unknown user
my $php = <<'PHP';
<?php
$port = (int)$argv[1];
mysqli_report(MYSQLI_REPORT_OFF);
$m = new mysqli('127.0.0.1', 'app', 'secret', 'test', $port);
$st = $m->prepare('SELECT t.v, m.name FROM t JOIN marker m WHERE t.id = ?');
$id = 3;
$st->bind_param('i', $id);
$out = [];
$st->execute();
$out['first'] = $st->get_result()->fetch_row();
$m->query('UPDATE t SET v = v + 1 WHERE id = 3');
$st->execute();
$res = $st->get_result();
$out['after_write'] = $res ? $res->fetch_row() : ['ERR ' . $st->errno . ' ' . $st->error];
$ok = @$m->change_user('nosuch', 'x', 'test');
$out['change_user'] = [$ok, $m->errno, $m->sqlstate];
$r = @$m->query('SELECT CURRENT_USER(), DATABASE()');
$out['after_change_user'] = $r ? $r->fetch_row() : ['ERR ' . $m->errno];
echo json_encode($out), "\n";
PHP
my $php_file = $t->dir . '/mysqli.php';
spit($php_file, $php);
$_->stop_sql_thread for @replicas;    # the write stays ahead of them
my %out;
for my $how (qw(causeway direct)) {
    my $r = $t->run([ 'php', $php_file, $port{$how} ], timeout => 60);
    is($r->{exit}, 0, "$how: mysqli script exits 0") or diag($r->{err});
    $out{$how} = eval { JSON::PP::decode_json($r->{out}) } // { raw => $r->{out} };
}
$_->start_sql_thread for @replicas;
my ($first, $after) = map { $out{causeway}{$_} // [] } qw(first after_write);
ok($is_replica{ $first->[1] // '' }, "mysqli: the first execute ran on a replica ($first->[1])");
is_deeply($after, [ 31, 'primary' ], 'mysqli: the execute after a write runs on the primary, no ERR 1210');
is($out{direct}{change_user}[1], 1045, 'directly: change_user to an unknown user fails with 1045');
is_deeply([ @{ $out{causeway} }{qw(change_user after_change_user)} ], [ @{ $out{direct} }{qw(change_user after_change_user)} ],
          'mysqli change_user to an unknown user: the same outcome as directly') or diag(explain \%out);

$t->done;
