#!/usr/bin/python3
"""Causeway driver matrix: Python PyMySQL (python3-pymysql) or mysqlclient (python3-mysqldb) runs
t/compat/steps.tsv and prints what it saw (see t/compat/README). Both drivers speak the text
protocol only: a prepared step is their client-side parameter interpolation.
  python3 t/compat/python.py pymysql|mysqldb HOST PORT"""
import hashlib
import os
import sys

variant, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if variant == 'pymysql':
    import pymysql as db
    conn = db.connect(host=host, port=port, user='app', password='secret', database='test',
                      charset='utf8mb4', autocommit=True, binary_prefix=True, read_timeout=20)
else:
    import MySQLdb as db
    conn = db.connect(host=host, port=port, user='app', password='secret', database='test',
                      charset='utf8mb4', autocommit=True, binary_prefix=True, read_timeout=20)
out = sys.stdout.buffer


def say(s):
    out.write(s.encode('utf-8') + b'\n')


def fmt(v):
    if v is None:
        return 'NULL'
    if isinstance(v, str):
        v = v.encode('utf-8')
    if isinstance(v, (bytes, bytearray)):
        b = bytes(v)
        if all(0x20 <= c <= 0x7e for c in b):
            return b.decode('ascii')
        return '0x' + b.hex()
    return type(v).__name__ + ':' + str(v)


def param(p):
    t, v = p.split(':', 1)
    return {'n': lambda: None, 'i': lambda: int(v), 'd': lambda: float(v), 'x': lambda: bytes.fromhex(v),
            'u': lambda: bytes.fromhex(v).decode('utf-8')}.get(t, lambda: v)()


def err(e):
    a = e.args
    say('err: %s %s %s' % (type(e).__name__, a[0] if a else '', fmt(a[1] if len(a) > 1 else '')))


def results(cur, digest):
    while True:
        if cur.description:
            say('cols: ' + ' '.join(':'.join(str(x) for x in d) for d in cur.description))
            n, md5 = 0, hashlib.md5()
            for r in cur.fetchall():
                line = '|'.join(fmt(v) for v in r)
                n += 1
                if digest:
                    md5.update(line.encode() + b'\n')
                else:
                    say('row: ' + line)
            say('rows: %d%s' % (n, ' md5 ' + md5.hexdigest() if digest else ''))
        else:
            say('ok: affected=%d' % cur.rowcount)
        if not cur.nextset():
            break


def step(sql, params, digest):
    cur = conn.cursor()
    try:
        if params is None:
            cur.execute(sql)
        else:
            cur.execute(sql.replace('%', '%%').replace('?', '%s'), [param(p) for p in params])
        results(cur, digest)
    except db.Error as e:
        err(e)
    finally:
        try:
            cur.close()
        except db.Error as e:
            err(e)


n = 0
for line in open(os.environ.get('COMPAT_STEPS', 't/compat/steps.tsv'), encoding='ascii'):
    line = line.rstrip('\n')
    if not line or line.startswith('#'):
        continue
    a = line.split('\t')
    op = a.pop(0)
    n += 1
    if op == 'comment':
        say('## ' + a[0])
        continue
    say('> %d %s %s' % (n, op, ' '.join(a)[:100]))
    try:
        if op == 'query':
            step(a[0], None, False)
        elif op == 'digest':
            step(a[0], None, True)
        elif op == 'prepared':
            step(a[0], a[1:], False)
        elif op == 'digest_prepared':
            step(a[0], a[1:], True)
        elif op == 'begin':
            conn.begin() if variant == 'pymysql' else conn.query('BEGIN')
        elif op == 'commit':
            conn.commit()
        elif op == 'rollback':
            conn.rollback()
        elif op in ('reset', 'change_user'):
            say('unsupported')
        else:
            sys.exit('unknown step ' + op)
    except db.Error as e:
        err(e)
say('end')
