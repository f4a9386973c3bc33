<?php
// Causeway driver matrix: PHP mysqli, PDO with native (server-side) prepares and PDO with
// emulated prepares run t/compat/steps.tsv and print what they saw (see t/compat/README).
//   php t/compat/php.php mysqli|pdo-native|pdo-emulated HOST PORT
[$self, $variant, $host, $port] = $argv;
$port = (int)$port;

function fmt($v) {
    if ($v === null) return 'NULL';
    if (is_bool($v)) return $v ? 'true' : 'false';
    if (is_int($v)) return "$v";
    if (is_float($v)) return sprintf('%.17g', $v);
    return preg_match('/^[\x20-\x7e]*$/', $v) ? $v : '0x' . bin2hex($v);
}
function param($p) {
    [$t, $v] = explode(':', $p, 2);
    switch ($t) {
        case 'n': return [null, 'n'];
        case 'i': return [(int)$v, 'i'];
        case 'd': return [(float)$v, 'd'];
        case 'x': case 'u': return [hex2bin($v), $t];
        default: return [$v, 's'];
    }
}
function rows_out($rows, $digest) {
    $n = 0; $ctx = hash_init('md5');
    foreach ($rows as $r) {
        $line = implode('|', array_map('fmt', $r));
        $n++;
        if ($digest) hash_update($ctx, "$line\n"); else echo "row: $line\n";
    }
    echo "rows: $n", $digest ? ' md5 ' . hash_final($ctx) : '', "\n";
}

// ---------------------------------------------------------------- mysqli
function mysqli_fields($res) {
    $c = [];
    foreach ($res->fetch_fields() as $f) {
        $c[] = "$f->name:$f->type:$f->length:$f->flags:$f->charsetnr:$f->decimals:$f->orgtable:$f->orgname";
    }
    echo 'cols: ', implode(' ', $c), "\n";
}
function mysqli_err($h) { echo "err: {$h->errno} {$h->sqlstate} ", fmt($h->error), "\n"; }
function mysqli_rows($res, $digest) {
    $gen = (function () use ($res) { while ($r = $res->fetch_row()) yield $r; })();
    rows_out($gen, $digest);
}
function mysqli_query_step($m, $sql, $digest) {
    if (!$m->multi_query($sql)) { mysqli_err($m); return; }
    do {
        $res = $digest ? $m->use_result() : $m->store_result();
        if ($res) { mysqli_fields($res); mysqli_rows($res, $digest); $res->free(); }
        elseif ($m->errno) { mysqli_err($m); }
        else { echo "ok: affected={$m->affected_rows} insert_id={$m->insert_id}\n"; }
        echo "warnings: {$m->warning_count}\n";
        if (!$m->more_results()) break;
        if (!$m->next_result()) { mysqli_err($m); break; }
    } while (true);
}
function mysqli_prepared_step($m, $sql, $params, $digest) {
    $st = $m->prepare($sql);
    if (!$st) { mysqli_err($m); return; }
    if ($params) {
        $types = ''; $vals = [];
        foreach ($params as $p) {
            [$v, $t] = param($p);
            $types .= $t === 'i' ? 'i' : ($t === 'd' ? 'd' : 's');
            $vals[] = $v;
        }
        $st->bind_param($types, ...$vals);
    }
    if (!$st->execute()) { mysqli_err($st); $st->close(); return; }
    do {
        $res = $st->get_result();
        if ($res) { mysqli_fields($res); mysqli_rows($res, $digest); $res->free(); }
        elseif ($st->errno) { mysqli_err($st); }
        else { echo "ok: affected={$st->affected_rows} insert_id={$st->insert_id}\n"; }
        echo "warnings: {$m->warning_count}\n";
        if (!$st->more_results()) break;
        if (!$st->next_result()) { if ($st->errno) mysqli_err($st); break; }
    } while (true);
    $st->close();
}

// ---------------------------------------------------------------- PDO
function pdo_err($e) {
    $i = $e->errorInfo ?? [$e->getCode(), 0, $e->getMessage()];
    echo "err: ", $i[1] ?? '', " ", $i[0] ?? '', " ", fmt($i[2] ?? $e->getMessage()), "\n";
}
function pdo_results($st, $digest) {
    do {
        $n = $st->columnCount();
        if ($n > 0) {
            $c = [];
            for ($i = 0; $i < $n; $i++) {
                $meta = $st->getColumnMeta($i);
                if ($meta === false) { $c[] = '?'; continue; }
                $c[] = $meta['name'] . ':' . ($meta['native_type'] ?? '') . ':' . $meta['len'] . ':'
                     . $meta['precision'] . ':' . $meta['pdo_type'] . ':' . implode(',', $meta['flags']);
            }
            echo 'cols: ', implode(' ', $c), "\n";
            $gen = (function () use ($st) { while (($r = $st->fetch(PDO::FETCH_NUM)) !== false) yield $r; })();
            rows_out($gen, $digest);
        } else {
            echo "ok: affected=", $st->rowCount(), "\n";
        }
    } while ($st->nextRowset());
}
function pdo_step($pdo, $sql, $params, $digest, $prepared) {
    try {
        if ($prepared) {
            $st = $pdo->prepare($sql);
            $i = 0;
            foreach ($params as $p) {
                [$v, $t] = param($p);
                $st->bindValue(++$i, $v, $t === 'n' ? PDO::PARAM_NULL : ($t === 'i' ? PDO::PARAM_INT : ($t === 'x' ? PDO::PARAM_LOB : PDO::PARAM_STR)));
            }
            $st->execute();
        } else {
            $st = $pdo->query($sql);
        }
        pdo_results($st, $digest);
        $st->closeCursor();
    } catch (PDOException $e) {
        pdo_err($e);
    }
}

// ---------------------------------------------------------------- the steps
mysqli_report(MYSQLI_REPORT_OFF);
if ($variant === 'mysqli') {
    $h = new mysqli($host, 'app', 'secret', 'test', $port);
    $h->set_charset('utf8mb4');
} else {
    $h = new PDO("mysql:host=$host;port=$port;dbname=test;charset=utf8mb4", 'app', 'secret', [
        PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
        PDO::ATTR_EMULATE_PREPARES => $variant === 'pdo-emulated',
        PDO::MYSQL_ATTR_MULTI_STATEMENTS => false,
    ]);
}
$steps = getenv('COMPAT_STEPS') ?: 't/compat/steps.tsv';
$n = 0;
foreach (file($steps, FILE_IGNORE_NEW_LINES) as $line) {
    if ($line === '' || $line[0] === '#') continue;
    $a = explode("\t", $line);
    $op = array_shift($a);
    $n++;
    if ($op === 'comment') { echo "## $a[0]\n"; continue; }
    echo "> $n $op ", substr(implode(' ', $a), 0, 100), "\n";
    $sql = $a[0] ?? '';
    $params = array_slice($a, 1);
    if ($variant === 'mysqli') {
        switch ($op) {
            case 'query': mysqli_query_step($h, $sql, false); break;
            case 'digest': mysqli_query_step($h, $sql, true); break;
            case 'prepared': mysqli_prepared_step($h, $sql, $params, false); break;
            case 'digest_prepared': mysqli_prepared_step($h, $sql, $params, true); break;
            case 'begin': $h->begin_transaction() or mysqli_err($h); break;
            case 'commit': $h->commit() or mysqli_err($h); break;
            case 'rollback': $h->rollback() or mysqli_err($h); break;
            case 'reset': echo "unsupported\n"; break;
            case 'change_user': $h->change_user($a[0], $a[1], $a[2]) or mysqli_err($h); break;
            default: exit("unknown step $op\n");
        }
    } else {
        try {
            switch ($op) {
                case 'query': pdo_step($h, $sql, [], false, false); break;
                case 'digest': pdo_step($h, $sql, [], true, false); break;
                case 'prepared': pdo_step($h, $sql, $params, false, true); break;
                case 'digest_prepared': pdo_step($h, $sql, $params, true, true); break;
                case 'begin': $h->beginTransaction(); break;
                case 'commit': $h->commit(); break;
                case 'rollback': $h->rollBack(); break;
                case 'reset': case 'change_user': echo "unsupported\n"; break;
                default: exit("unknown step $op\n");
            }
        } catch (PDOException $e) { pdo_err($e); }
    }
}
echo "end\n";
