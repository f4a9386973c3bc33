<?php
// PHP PDO beginTransaction() with reads only (t/49-optimistic-clients.t), with native
// prepares (the binary protocol) and with emulated ones (text). Usage: php pdo.php PORT REPLICAS.
$port = (int)$argv[1];
$replicas = explode(',', $argv[2]);
function check($name, $cond, $detail = '') { echo ($cond ? "ok $name" : "not ok $name: $detail"), "\n"; }
foreach (['native' => false, 'emulated' => true] as $how => $emulate) {
    $pdo = new PDO("mysql:host=127.0.0.1;port=$port;dbname=test", 'app', 'secret',
                   [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION, PDO::ATTR_EMULATE_PREPARES => $emulate]);
    $st = $pdo->prepare('SELECT t.v, m.name FROM t JOIN marker m WHERE t.id = ?');
    $seen = []; $bad = 0;
    for ($i = 1; $i <= 10; $i++) {
        $pdo->beginTransaction();
        for ($id = 1; $id <= 3; $id++) {
            $st->execute([$id]);
            $r = $st->fetch(PDO::FETCH_NUM);
            $st->closeCursor();
            if ((int)$r[0] !== $id * 10) { $bad++; }
            $seen[$r[1]] = ($seen[$r[1]] ?? 0) + 1;
        }
        $pdo->commit();
    }
    check("pdo_{$how}_results", $bad === 0, "$bad wrong");
    $off = array_diff(array_keys($seen), $replicas);
    check("pdo_{$how}_on_replicas", !$off, json_encode($seen));
    // Read, then write, in one beginTransaction().
    $row = $emulate ? 64 : 65;
    $pdo->beginTransaction();
    $st2 = $pdo->prepare('SELECT v FROM t WHERE id = ?');
    $st2->execute([$row]);
    $before = (int)$st2->fetchColumn();
    $st2->closeCursor();
    $pdo->prepare('UPDATE t SET v = v + 1 WHERE id = ?')->execute([$row]);
    $st2->execute([$row]);
    $after = (int)$st2->fetchColumn();
    $st2->closeCursor();
    $pdo->commit();
    check("pdo_{$how}_read_then_write", $before === $row * 10 && $after === $before + 1, "$before then $after");
}
