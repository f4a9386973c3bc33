# Real drivers through the proxy: PHP PDO (server-side prepares) and mysqli (cursor fetch,
# change_user, multi_query, send_long_data, stat, ping), Perl DBD::MariaDB with
# mariadb_server_prepare=1, Python PyMySQL. Each driver script prints `ok NAME` or
# `not ok NAME: detail`; the names are listed here so that a script that dies early fails.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha1_hex);
use lib 't/lib';
use Causeway::Test;

my $t = Causeway::Test->new;
my $topo = $t->topology;
my $cw = $t->causeway;
my $port = $cw->port;

$topo->primary->sql($_) for (
    'CREATE TABLE test.kv (id INT PRIMARY KEY AUTO_INCREMENT, k VARCHAR(50), v INT, f DOUBLE, b BLOB)',
    'CREATE TABLE test.blobs (id INT PRIMARY KEY AUTO_INCREMENT, b LONGBLOB)',
    "CREATE PROCEDURE test.two_sets(IN n INT) BEGIN SELECT n AS a; SELECT n + 1 AS b, 'x' AS c; END",
);
$topo->wait_for_replicas(10);

# ---------------------------------------------------------------- PHP: PDO and mysqli
my $php = <<'PHP';
<?php
$port = (int)$argv[1];
function check($name, $cond, $detail = '') {
    echo ($cond ? "ok $name" : "not ok $name: $detail"), "\n";
}
function attempt($name, $fn) {
    try { $fn(); } catch (Throwable $e) { echo "not ok $name: ", get_class($e), ': ', $e->getMessage(), "\n"; }
}
function stmt_status($pdo, $what) {
    $r = $pdo->query("SHOW SESSION STATUS LIKE '$what'")->fetch(PDO::FETCH_NUM);
    return (int)$r[1];
}
$dsn = "mysql:host=127.0.0.1;port=$port;dbname=test;charset=utf8mb4";
$opt = [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION, PDO::ATTR_EMULATE_PREPARES => false];
$pdo = null;
attempt('pdo_connect', function () use (&$pdo, $dsn, $opt) {
    $pdo = new PDO($dsn, 'app', 'secret', $opt);
    check('pdo_connect', $pdo->query('SELECT 1')->fetchColumn() == 1);
});
attempt('pdo_server_prepare', function () use ($pdo) {
    $before = stmt_status($pdo, 'Com_stmt_prepare');
    $st = $pdo->prepare('SELECT ? + 1 AS x, ? AS s');
    $st->execute([41, 'hi']);
    $row = $st->fetch(PDO::FETCH_ASSOC);
    $after = stmt_status($pdo, 'Com_stmt_prepare');
    check('pdo_server_prepare', $row['x'] == 42 && $row['s'] === 'hi' && $after - $before >= 1,
          json_encode($row) . " prepares $before -> $after");
    $st->execute([1, 'again']);
    $row = $st->fetch(PDO::FETCH_ASSOC);
    check('pdo_reexecute', $row['x'] == 2 && $row['s'] === 'again', json_encode($row));
});
attempt('pdo_insert_many', function () use ($pdo) {
    $st = $pdo->prepare('INSERT INTO kv (k, v, f, b) VALUES (?, ?, ?, ?)');
    for ($i = 1; $i <= 200; $i++) { $st->execute(["k$i", $i, $i / 4, str_repeat(chr($i), $i)]); }
    $c = $pdo->query('SELECT COUNT(*), SUM(v) FROM kv')->fetch(PDO::FETCH_NUM);
    check('pdo_insert_many', $c[0] == 200 && $c[1] == 20100, json_encode($c));
});
attempt('pdo_fetch_all', function () use ($pdo) {
    $st = $pdo->prepare('SELECT id, k, v, f, b FROM kv WHERE v > ? ORDER BY id');
    $st->execute([0]);
    $rows = $st->fetchAll(PDO::FETCH_ASSOC);
    $ok = count($rows) == 200;
    foreach ($rows as $r) {
        $i = (int)$r['v'];
        if ($r['k'] !== "k$i" || abs($r['f'] - $i / 4) > 1e-9 || $r['b'] !== str_repeat(chr($i), $i)) { $ok = false; }
    }
    check('pdo_fetch_all', $ok, 'rows: ' . count($rows));
});
attempt('pdo_unbuffered', function () use ($dsn, $opt) {
    $u = new PDO($dsn, 'app', 'secret', $opt + [PDO::MYSQL_ATTR_USE_BUFFERED_QUERY => false]);
    $st = $u->prepare('SELECT seq FROM seq_1_to_50000 WHERE seq > ?');
    $st->execute([0]);
    $n = 0; $sum = 0;
    while (($v = $st->fetchColumn()) !== false) { $n++; $sum += $v; }
    check('pdo_unbuffered', $n == 50000 && $sum == 1250025000, "n=$n sum=$sum");
});
attempt('pdo_null_binary', function () use ($pdo) {
    $bin = '';
    for ($i = 0; $i < 256; $i++) { $bin .= chr($i); }
    $st = $pdo->prepare('SELECT ? IS NULL, ?, LENGTH(?)');
    $st->bindValue(1, null, PDO::PARAM_NULL);
    $st->bindValue(2, $bin, PDO::PARAM_LOB);
    $st->bindValue(3, $bin, PDO::PARAM_LOB);
    $st->execute();
    $r = $st->fetch(PDO::FETCH_NUM);
    check('pdo_null_binary', $r[0] == 1 && $r[1] === $bin && $r[2] == 256, bin2hex(substr($r[1], 0, 8)));
});
attempt('pdo_error', function () use ($pdo) {
    try {
        $pdo->prepare('SELECT * FROM nosuch')->execute();
        check('pdo_error', false, 'no exception');
    } catch (PDOException $e) {
        check('pdo_error', $e->errorInfo[0] === '42S02' && $e->errorInfo[1] == 1146
              && $e->errorInfo[2] === "Table 'test.nosuch' doesn't exist", json_encode($e->errorInfo));
    }
    check('pdo_after_error', $pdo->query('SELECT 7')->fetchColumn() == 7);
});
attempt('pdo_transaction', function () use ($pdo) {
    $n0 = $pdo->query('SELECT COUNT(*) FROM kv')->fetchColumn();
    $pdo->beginTransaction();
    $pdo->prepare('INSERT INTO kv (k) VALUES (?)')->execute(['rolled back']);
    $pdo->rollBack();
    $n1 = $pdo->query('SELECT COUNT(*) FROM kv')->fetchColumn();
    $pdo->beginTransaction();
    $pdo->prepare('INSERT INTO kv (k) VALUES (?)')->execute(['committed']);
    $pdo->commit();
    $n2 = $pdo->query('SELECT COUNT(*) FROM kv')->fetchColumn();
    check('pdo_transaction', $n1 == $n0 && $n2 == $n0 + 1, "$n0 $n1 $n2");
});
attempt('pdo_call_multi', function () use ($pdo) {
    $st = $pdo->prepare('CALL two_sets(?)');
    $st->execute([5]);
    $sets = [];
    do {
        if ($st->columnCount() > 0) { $sets[] = $st->fetchAll(PDO::FETCH_NUM); }
    } while ($st->nextRowset());
    // The CALL's final status result may show up as an empty row set; drop those.
    $sets = array_values(array_filter($sets, function ($s) { return $s !== []; }));
    check('pdo_call_multi', $sets == [[[5]], [[6, 'x']]], json_encode($sets));
    check('pdo_after_call', $pdo->query('SELECT 8')->fetchColumn() == 8);
});

// mysqli
mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
$m = null;
attempt('mysqli_connect', function () use (&$m, $port) {
    $m = new mysqli('127.0.0.1', 'app', 'secret', 'test', $port);
    check('mysqli_connect', $m->query('SELECT 1')->fetch_row()[0] == 1);
});
attempt('mysqli_cursor_fetch', function () use ($m) {
    $before = (int)$m->query("SHOW SESSION STATUS LIKE 'Com_stmt_fetch'")->fetch_row()[1];
    $st = $m->prepare('SELECT seq, REPEAT(\'z\', seq % 50) FROM seq_1_to_300 WHERE seq > ?');
    $st->attr_set(MYSQLI_STMT_ATTR_CURSOR_TYPE, MYSQLI_CURSOR_TYPE_READ_ONLY);
    $st->attr_set(MYSQLI_STMT_ATTR_PREFETCH_ROWS, 1);
    $min = 0;
    $st->bind_param('i', $min);
    $st->execute();
    $st->bind_result($seq, $z);
    $n = 0; $sum = 0; $ok = true;
    while ($st->fetch()) { $n++; $sum += $seq; if ($z !== str_repeat('z', $seq % 50)) { $ok = false; } }
    $st->close();
    $after = (int)$m->query("SHOW SESSION STATUS LIKE 'Com_stmt_fetch'")->fetch_row()[1];
    check('mysqli_cursor_fetch', $ok && $n == 300 && $sum == 45150, "n=$n sum=$sum");
    check('mysqli_cursor_used_com_stmt_fetch', $after - $before >= 300, "Com_stmt_fetch $before -> $after");
});
attempt('mysqli_prepared', function () use ($m) {
    $st = $m->prepare('SELECT k, v FROM kv WHERE v BETWEEN ? AND ? ORDER BY v');
    $lo = 10; $hi = 12;
    $st->bind_param('ii', $lo, $hi);
    $st->execute();
    $rows = $st->get_result()->fetch_all(MYSQLI_NUM);
    check('mysqli_prepared', $rows == [['k10', 10], ['k11', 11], ['k12', 12]], json_encode($rows));
});
attempt('mysqli_change_user', function () use ($m) {
    $m->query('SET @before = 1');
    $ok = $m->change_user('app2', 'secret2', 'test');
    $r = $m->query('SELECT CURRENT_USER(), USER() LIKE \'app2@%\', @before IS NULL, DATABASE()')->fetch_row();
    check('mysqli_change_user', $ok && $r[0] === 'app2@%' && $r[1] == 1 && $r[3] === 'test', json_encode($r));
    check('mysqli_change_user_resets_session', $r[2] == 1, 'user variable survived change_user');
    $ok = $m->change_user('app', 'secret', 'mysql');
    $r = $m->query('SELECT CURRENT_USER(), DATABASE()')->fetch_row();
    check('mysqli_change_user_back', $ok && $r[0] === 'app@%' && $r[1] === 'mysql', json_encode($r));
    $m->select_db('test');
    check('mysqli_select_db', $m->query('SELECT DATABASE()')->fetch_row()[0] === 'test');
});
attempt('mysqli_multi_query', function () use ($m) {
    $m->multi_query("SELECT 1; SELECT 2, 'two'; SET @q = 4; SELECT @q; SELECT seq FROM seq_1_to_1000");
    $sets = [];
    do {
        if ($res = $m->store_result()) { $sets[] = $res->fetch_all(MYSQLI_NUM); $res->free(); }
        else { $sets[] = 'no result'; }
    } while ($m->more_results() && $m->next_result());
    $ok = count($sets) == 5 && $sets[0] == [[1]] && $sets[1] == [[2, 'two']] && $sets[2] === 'no result'
        && $sets[3] == [[4]] && count($sets[4]) == 1000;
    check('mysqli_multi_query', $ok, json_encode(array_slice($sets, 0, 4)));
    try {
        $m->multi_query('SELECT 1; SELECT * FROM nosuch; SELECT 3');
        $first = $m->store_result()->fetch_all(MYSQLI_NUM);
        $m->next_result();
        check('mysqli_multi_query_error', false, 'no exception for the second statement');
    } catch (mysqli_sql_exception $e) {
        check('mysqli_multi_query_error', $first == [[1]] && $e->getCode() == 1146 && $e->getSqlState() === '42S02',
              $e->getCode() . ' ' . $e->getMessage());
    }
    check('mysqli_after_multi_error', $m->query('SELECT 9')->fetch_row()[0] == 9);
});
attempt('mysqli_send_long_data', function () use ($m) {
    $data = '';
    $chunks = [];
    for ($i = 0; $i < 6; $i++) { $c = random_bytes(200000 + $i); $chunks[] = $c; $data .= $c; }
    $st = $m->prepare('INSERT INTO blobs (b) VALUES (?)');
    $null = null;
    $st->bind_param('b', $null);
    foreach ($chunks as $c) { $st->send_long_data(0, $c); }
    $st->execute();
    $id = $m->insert_id;
    $r = $m->query("SELECT LENGTH(b), SHA1(b) FROM blobs WHERE id = $id")->fetch_row();
    check('mysqli_send_long_data', $r[0] == strlen($data) && $r[1] === sha1($data),
          "length $r[0] vs " . strlen($data));
    $st2 = $m->prepare('SELECT b FROM blobs WHERE id = ?');
    $st2->bind_param('i', $id);
    $st2->execute();
    $back = $st2->get_result()->fetch_row()[0];
    check('mysqli_long_data_read_back', $back === $data, 'length ' . strlen($back));
});
attempt('mysqli_stat_ping', function () use ($m) {
    $s = $m->stat();
    check('mysqli_stat', is_string($s) && preg_match('/^Uptime: \d+/', $s) === 1, var_export($s, true));
    check('mysqli_ping', $m->ping());
});
attempt('mysqli_error', function () use ($m) {
    try { $m->query('SELECT nosuch FROM kv'); check('mysqli_error', false, 'no exception'); }
    catch (mysqli_sql_exception $e) {
        check('mysqli_error', $e->getCode() == 1054 && $e->getSqlState() === '42S22', $e->getCode());
    }
});
PHP

my $php_file = $t->dir . '/drivers.php';
spit($php_file, $php);
my @php_checks = qw(pdo_connect pdo_server_prepare pdo_reexecute pdo_insert_many pdo_fetch_all
  pdo_unbuffered pdo_null_binary pdo_error pdo_after_error pdo_transaction pdo_call_multi
  pdo_after_call mysqli_connect mysqli_cursor_fetch mysqli_cursor_used_com_stmt_fetch
  mysqli_prepared mysqli_change_user mysqli_change_user_resets_session mysqli_change_user_back
  mysqli_select_db mysqli_multi_query mysqli_multi_query_error mysqli_after_multi_error
  mysqli_send_long_data mysqli_long_data_read_back mysqli_stat mysqli_ping mysqli_error);
$t->script_checks('PHP', ['php', '-d', 'display_errors=stderr', '-d', 'error_reporting=-1',
                          $php_file, $port], \@php_checks);

# ---------------------------------------------------------------- Perl DBD::MariaDB
subtest 'Perl DBD::MariaDB, mariadb_server_prepare=1' => sub {
    my $dbh = $t->connect(dsn => 'mariadb_server_prepare=1');
    ok($dbh, 'connects') or return diag($DBI::errstr);
    my $prep0 = ($dbh->selectrow_array("SHOW SESSION STATUS LIKE 'Com_stmt_prepare'"))[1];
    my $sth = $dbh->prepare('SELECT ? + 1, ?, ? IS NULL');
    ok($sth->execute(41, 'perl', undef), 'execute a server-side prepared statement');
    is_deeply($sth->fetchrow_arrayref, [42, 'perl', 1], 'its row');
    ok($sth->execute(1, 'again', 5), 're-execute it');
    is_deeply($sth->fetchrow_arrayref, [2, 'again', 0], 'its new row');
    my $prep1 = ($dbh->selectrow_array("SHOW SESSION STATUS LIKE 'Com_stmt_prepare'"))[1];
    cmp_ok($prep1 - $prep0, '>=', 1, 'the server counted a COM_STMT_PREPARE');

    my $ins = $dbh->prepare('INSERT INTO kv (k, v, b) VALUES (?, ?, ?)');
    my $bin = join '', map { chr } 0 .. 255;
    for my $i (1 .. 3) {
        $ins->bind_param(1, "perl$i");
        $ins->bind_param(2, 1000 + $i);
        $ins->bind_param(3, $bin x $i, DBI::SQL_BLOB);
        ok($ins->execute, "insert row $i with binary data");
    }
    ok($dbh->last_insert_id(undef, undef, undef, undef) > 0, 'last_insert_id');
    my $sel = $dbh->prepare('SELECT k, LENGTH(b), b = ? FROM kv WHERE v > ? ORDER BY v');
    $sel->bind_param(1, $bin x 2, DBI::SQL_BLOB);
    $sel->bind_param(2, 1000);
    $sel->execute;
    my $rows = $sel->fetchall_arrayref;
    is_deeply($rows, [['perl1', 256, 0], ['perl2', 512, 1], ['perl3', 768, 0]], 'binary data round-trip');

    my $many = $dbh->selectall_arrayref('SELECT seq, seq * 2 FROM seq_1_to_20000 WHERE seq > ?', undef, 0);
    is(scalar @$many, 20000, '20,000 rows through the binary protocol');
    is($many->[-1][1], 40000, '... with the right last row');

    $dbh->{AutoCommit} = 0;
    $dbh->do('INSERT INTO kv (k) VALUES (?)', undef, 'perl-rollback');
    $dbh->rollback;
    is($dbh->selectrow_array('SELECT COUNT(*) FROM kv WHERE k = ?', undef, 'perl-rollback'), 0,
       'rollback undoes the insert');
    $dbh->do('INSERT INTO kv (k) VALUES (?)', undef, 'perl-commit');
    $dbh->commit;
    $dbh->{AutoCommit} = 1;
    is($dbh->selectrow_array('SELECT COUNT(*) FROM kv WHERE k = ?', undef, 'perl-commit'), 1,
       'commit keeps the insert');

    ok(!$dbh->do('SELECT * FROM nosuch'), 'a bad statement fails');
    is($dbh->err, 1146, '... with ERR 1146');
    is($dbh->state, '42S02', '... and SQLSTATE 42S02');
    is($dbh->errstr, "Table 'test.nosuch' doesn't exist", '... and the server\'s message');

    # DBD::MariaDB returns only the first result set of a server-side prepared CALL (a driver
    # limitation, also seen straight against MariaDB), so the CALL uses the text protocol here;
    # PDO above covers a prepared CALL.
    my $call = $dbh->prepare('CALL two_sets(?)', { mariadb_server_prepare => 0 });
    $call->execute(10);
    my @sets;
    do { push @sets, $call->fetchall_arrayref if $call->{NUM_OF_FIELDS} } while ($call->more_results);
    is_deeply(\@sets, [[[10]], [[11, 'x']]], 'CALL returns two result sets');
    is($dbh->selectrow_array('SELECT 5'), 5, 'the connection works after the CALL');
    ok($dbh->ping, 'ping');
    $dbh->disconnect;
};

# ---------------------------------------------------------------- Python PyMySQL
my $py = <<'PY';
import sys, pymysql
port = int(sys.argv[1])
def check(name, cond, detail=''):
    print(('ok %s' % name) if cond else ('not ok %s: %s' % (name, detail)), flush=True)
def attempt(name, fn):
    try:
        fn()
    except Exception as e:
        print('not ok %s: %s %r' % (name, type(e).__name__, e), flush=True)
conn = pymysql.connect(host='127.0.0.1', port=port, user='app', password='secret', database='test',
                       charset='utf8mb4', connect_timeout=10, read_timeout=60, write_timeout=60)
def queries():
    with conn.cursor() as c:
        c.execute("SELECT 1, 'two', NULL, 3.5")
        check('py_query', c.fetchone() == (1, 'two', None, 3.5))
        c.execute('SELECT seq FROM seq_1_to_10000')
        rows = c.fetchall()
        check('py_many_rows', len(rows) == 10000 and rows[-1] == (10000,), len(rows))
attempt('py_query', queries)
def params():
    with conn.cursor() as c:
        c.execute('SELECT %s + 1, %s', (41, "it's"))
        check('py_params', c.fetchone() == (42, "it's"))
        c.executemany('INSERT INTO kv (k, v) VALUES (%s, %s)', [('py%d' % i, 2000 + i) for i in range(50)])
        check('py_executemany', c.rowcount == 50, c.rowcount)
    conn.commit()
attempt('py_params', params)
def transactions():
    with conn.cursor() as c:
        c.execute("INSERT INTO kv (k) VALUES ('py-rollback')")
        conn.rollback()
        c.execute("SELECT COUNT(*) FROM kv WHERE k = 'py-rollback'")
        n1 = c.fetchone()[0]
        c.execute("INSERT INTO kv (k) VALUES ('py-commit')")
        conn.commit()
        c.execute("SELECT COUNT(*) FROM kv WHERE k = 'py-commit'")
        n2 = c.fetchone()[0]
        check('py_transactions', n1 == 0 and n2 == 1, (n1, n2))
attempt('py_transactions', transactions)
def call_multi():
    with conn.cursor() as c:
        c.execute('CALL two_sets(%s)', (20,))
        sets = [c.fetchall()]
        while c.nextset():
            if c.description:
                sets.append(c.fetchall())
        check('py_call_multi', sets == [((20,),), ((21, 'x'),)], sets)
        c.execute('SELECT 6')
        check('py_after_call', c.fetchone() == (6,))
attempt('py_call_multi', call_multi)
def errors():
    with conn.cursor() as c:
        try:
            c.execute('SELECT * FROM nosuch')
            check('py_error', False, 'no exception')
        except pymysql.err.ProgrammingError as e:
            check('py_error', e.args == (1146, "Table 'test.nosuch' doesn't exist"), e.args)
        c.execute('SELECT 4')
        check('py_after_error', c.fetchone() == (4,))
attempt('py_error', errors)
def streaming():
    c = conn.cursor(pymysql.cursors.SSCursor)
    c.execute('SELECT seq FROM seq_1_to_50000')
    n = sum(1 for _ in c)
    c.close()
    check('py_sscursor', n == 50000, n)
attempt('py_sscursor', streaming)
def ping_select_db():
    conn.ping(reconnect=False)
    conn.select_db('mysql')
    with conn.cursor() as c:
        c.execute('SELECT DATABASE()')
        check('py_select_db', c.fetchone() == ('mysql',))
    check('py_ping', True)
attempt('py_ping', ping_select_db)
conn.close()
PY
my $py_file = $t->dir . '/drivers.py';
spit($py_file, $py);
my $python = Causeway::Test::python();
SKIP: {
    skip('no python3 with PyMySQL', 1) unless $python;
    $t->script_checks('PyMySQL', [$python, $py_file, $port],
        [qw(py_query py_many_rows py_params py_executemany py_transactions py_call_multi
            py_after_call py_error py_after_error py_sscursor py_select_db py_ping)]);
}

$t->done;
