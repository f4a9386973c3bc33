// Causeway driver matrix: Node `mariadb` (npm, installed in t/compat/node/ by t/lib/install-deps)
// runs t/compat/steps.tsv and prints what it saw (see t/compat/README). query() is the text
// protocol, execute() the binary protocol (server-side prepares).
//   node t/compat/node.js HOST PORT
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const mariadb = require(path.join(__dirname, 'node', 'node_modules', 'mariadb'));

const [host, port] = process.argv.slice(2);
const lines = [];
const say = (s) => lines.push(s);

function fmt(v) {
  if (v === null || v === undefined) return 'NULL';
  let b;
  if (Buffer.isBuffer(v)) b = v;
  else if (v instanceof Date) return 'Date:' + (isNaN(v) ? 'invalid' : v.toISOString());
  else if (typeof v === 'object') return 'json:' + fmt(JSON.stringify(v));
  else if (typeof v !== 'string') return typeof v + ':' + String(v);
  else b = Buffer.from(v, 'utf8');
  for (const c of b) if (c < 0x20 || c > 0x7e) return '0x' + b.toString('hex');
  return b.toString('ascii');
}

function param(p) {
  const i = p.indexOf(':');
  const t = p.slice(0, i), v = p.slice(i + 1);
  switch (t) {
    case 'n': return null;
    case 'i': return BigInt(v) <= BigInt(Number.MAX_SAFE_INTEGER) && BigInt(v) >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : BigInt(v);
    case 'd': return Number(v);
    case 'x': return Buffer.from(v, 'hex');
    case 'u': return Buffer.from(v, 'hex').toString('utf8');
    default: return v;
  }
}

function err(e) {
  say(`err: ${e.errno} ${e.sqlState} ${fmt(e.sqlMessage || e.message)}`);
}

function oneResult(r, digest) {
  if (Array.isArray(r)) {
    const meta = r.meta || [];
    say('cols: ' + meta.map((c) => [c.name(), c.type, c.columnType, c.collation && c.collation.name,
      c.columnLength, c.scale, c.flags].join(':')).join(' '));
    const md5 = crypto.createHash('md5');
    let n = 0;
    for (const row of r) {
      const line = row.map(fmt).join('|');
      n++;
      if (digest) md5.update(line + '\n'); else say('row: ' + line);
    }
    say(`rows: ${n}` + (digest ? ' md5 ' + md5.digest('hex') : ''));
  } else {
    say(`ok: affected=${r.affectedRows} insert_id=${r.insertId} warnings=${r.warningStatus}`);
  }
}

function results(res, digest) {
  // A CALL answers an array of result sets followed by the OK.
  if (Array.isArray(res) && res.length && (Array.isArray(res[0]) || (res[0] && res[0].affectedRows !== undefined)) && !res.meta) {
    for (const r of res) oneResult(r, digest);
  } else oneResult(res, digest);
}

async function main() {
  const opts = { host, port: Number(port), user: 'app', password: 'secret', database: 'test',
    rowsAsArray: true, bigIntAsNumber: false, decimalAsNumber: false, connectTimeout: 10000, socketTimeout: 20000,
    dateStrings: true, checkDuplicate: false };
  let conn = await mariadb.createConnection(opts);
  const steps = fs.readFileSync(process.env.COMPAT_STEPS || 't/compat/steps.tsv', 'ascii').split('\n');
  let n = 0;
  for (const line of steps) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split('\t');
    const op = f.shift();
    n++;
    if (op === 'comment') { say('## ' + f[0]); continue; }
    say(`> ${n} ${op} ${f.join(' ').slice(0, 100)}`);
    const sql = f[0], params = f.slice(1).map(param);
    try {
      switch (op) {
        case 'query': results(await conn.query(sql), false); break;
        case 'digest': results(await conn.query(sql), true); break;
        case 'prepared': results(await conn.execute(sql, params), false); break;
        case 'digest_prepared': results(await conn.execute(sql, params), true); break;
        case 'begin': await conn.beginTransaction(); break;
        case 'commit': await conn.commit(); break;
        case 'rollback': await conn.rollback(); break;
        case 'reset': await conn.reset(); break;
        case 'change_user': await conn.changeUser({ user: f[0], password: f[1], database: f[2] }); break;
        default: throw new Error('unknown step ' + op);
      }
    } catch (e) {
      if (e.sqlState === undefined && e.errno === undefined) throw e;
      err(e);
    }
  }
  say('end');
  await conn.end();
}

main().then(() => { process.stdout.write(lines.join('\n') + '\n'); },
  (e) => { process.stdout.write(lines.join('\n') + '\n'); console.error(e); process.exit(1); });
