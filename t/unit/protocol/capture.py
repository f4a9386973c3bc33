#!/usr/bin/python3
# Regenerates t/unit/protocol/captured.hh and the fuzz seed corpora from a real
# MariaDB server: starts a throwaway mariadbd on a free loopback port with its
# own data dir, talks to it over a raw socket (no client library decides
# anything), records every packet, then stops the server and deletes its dir.
# Run from the repo root: t/unit/protocol/capture.py  (needs mariadbd, mariadb,
# mariadb-install-db; run as root or as the owner of the files it creates).
import hashlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HEADER = 't/unit/protocol/captured.hh'
CORPUS = 't/fuzz/corpus'

# Capability bits (constants.hh).
LONG_PASSWORD = 1 << 0
FOUND_ROWS = 1 << 1
LONG_FLAG = 1 << 2
CONNECT_WITH_DB = 1 << 3
LOCAL_FILES = 1 << 7
PROTOCOL_41 = 1 << 9
INTERACTIVE = 1 << 10
SSL = 1 << 11
TRANSACTIONS = 1 << 13
SECURE_CONNECTION = 1 << 15
MULTI_STATEMENTS = 1 << 16
MULTI_RESULTS = 1 << 17
PS_MULTI_RESULTS = 1 << 18
PLUGIN_AUTH = 1 << 19
CONNECT_ATTRS = 1 << 20
LENENC_DATA = 1 << 21
SESSION_TRACK = 1 << 23
DEPRECATE_EOF = 1 << 24

# What the proxy asks a backend for (backend_conn.cc), minus the two bits
# each connection below chooses: session tracking and DEPRECATE_EOF.
BASE = (LONG_PASSWORD | FOUND_ROWS | LONG_FLAG | CONNECT_WITH_DB | LOCAL_FILES | PROTOCOL_41 | INTERACTIVE |
        TRANSACTIONS | SECURE_CONNECTION | MULTI_STATEMENTS | MULTI_RESULTS | PS_MULTI_RESULTS | PLUGIN_AUTH |
        CONNECT_ATTRS | LENENC_DATA)

USER, PASSWORD, DB = 'cw', 'cwpass', 'capture'

SETUP_SQL = f"""
CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('{PASSWORD}');
GRANT ALL ON *.* TO '{USER}'@'127.0.0.1';
CREATE DATABASE {DB};
CREATE TABLE {DB}.t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(20)) ENGINE=InnoDB;
INSERT INTO {DB}.t (v) VALUES ('a'), ('b'), ('c');
CREATE TABLE {DB}.tracked (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(20)) ENGINE=InnoDB;
CREATE TABLE {DB}.untracked (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(20)) ENGINE=InnoDB;
CREATE TABLE {DB}.loaded (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(20)) ENGINE=InnoDB;
DELIMITER //
CREATE PROCEDURE {DB}.two_results() BEGIN SELECT 1 AS a; SELECT 'x' AS b; END //
CREATE PROCEDURE {DB}.cursor_results() BEGIN DECLARE va INT; DECLARE cur CURSOR FOR SELECT id FROM {DB}.t ORDER BY id;
  OPEN cur; FETCH cur INTO va; SELECT va; SELECT va + 1 AS vb; CLOSE cur; END //
DELIMITER ;
"""


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class server:
    """A throwaway mariadbd (DESIGN.md §8)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='cw-capture-')
        self.port = free_port()
        self.cnf = os.path.join(self.dir, 'my.cnf')
        self.pidfile = os.path.join(self.dir, 'mariadbd.pid')
        self.socket = os.path.join(self.dir, 'sock')
        with open(self.cnf, 'w') as f:
            f.write('\n'.join([
                '[mariadbd]', 'user=root', f'datadir={self.dir}/data', f'socket={self.socket}',
                f'pid-file={self.pidfile}', f'log-error={self.dir}/error.log', f'port={self.port}',
                'bind-address=127.0.0.1', 'server_id=1', 'gtid_domain_id=0', 'log_bin=capture-bin',
                'binlog_format=ROW', 'innodb_buffer_pool_size=64M', 'performance_schema=OFF',
                'skip_name_resolve=1', 'local_infile=1', '[client]', f'socket={self.socket}', '']))
        self.proc = None

    def start(self):
        out = subprocess.run(['mariadb-install-db', f'--defaults-file={self.cnf}', '--user=root', '--skip-test-db',
                              '--auth-root-authentication-method=socket'], capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError('mariadb-install-db failed:\n' + out.stdout + out.stderr)
        self.proc = subprocess.Popen(['mariadbd', f'--defaults-file={self.cnf}'], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(('127.0.0.1', self.port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError('mariadbd did not start; see ' + self.dir + '/error.log')
                time.sleep(0.1)
        self.sql(SETUP_SQL)

    def sql(self, text):
        out = subprocess.run(['mariadb', f'--defaults-file={self.cnf}', '-uroot', '-N', '-B'], input=text,
                             capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError('mariadb: ' + out.stderr.strip())
        return out.stdout.strip()

    def version(self):
        return self.sql('SELECT VERSION();')

    def stop(self):
        if self.proc:
            # By its own pid (never by name), then wait for it.
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        shutil.rmtree(self.dir)


def sha1(*parts):
    h = hashlib.sha1()
    for p in parts:
        h.update(p)
    return h.digest()


def native_token(password, scramble):
    if not password:
        return b''
    stage1 = sha1(password.encode())
    mix = sha1(scramble[:20], sha1(stage1))
    return bytes(a ^ b for a, b in zip(stage1, mix))


def lenenc(n):
    if n < 0xfb:
        return bytes([n])
    if n <= 0xffff:
        return b'\xfc' + struct.pack('<H', n)
    if n <= 0xffffff:
        return b'\xfd' + struct.pack('<I', n)[:3]
    return b'\xfe' + struct.pack('<Q', n)


def frame(payload, seq):
    return struct.pack('<I', len(payload))[:3] + bytes([seq]) + payload


def split(wire):
    """Wire bytes -> list of payloads."""
    out, i = [], 0
    while i < len(wire):
        n = int.from_bytes(wire[i:i + 3], 'little')
        out.append(wire[i + 4:i + 4 + n])
        i += 4 + n
    return out


class conn:
    """A raw protocol connection. An answer ends when the server has been
    silent for QUIET seconds: an oracle that does not depend on the tracker
    under test."""
    QUIET = 0.25

    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port))
        self.caps = 0

    def send(self, wire):
        self.sock.sendall(wire)

    def read_exact(self, n):
        buf = b''
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise RuntimeError('server closed the connection')
            buf += chunk
        return buf

    def read_packet(self):
        hdr = self.read_exact(4)
        return hdr + self.read_exact(int.from_bytes(hdr[:3], 'little'))

    def answer(self):
        """All packets until the server is quiet (wire bytes)."""
        out = b''
        self.sock.settimeout(self.QUIET)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                out += chunk
        except socket.timeout:
            pass
        self.sock.settimeout(None)
        return out

    def command(self, payload):
        req = frame(payload, 0)
        self.send(req)
        return req, self.answer()

    def login(self, caps, user=USER, password=PASSWORD, db=DB, plugin='mysql_native_password', attrs=None,
              token=None):
        """Returns (greeting wire, response wire, answer wire)."""
        greeting = self.read_packet()
        g = greeting[4:]
        p = g.index(b'\0', 1) + 1
        scramble = g[p + 4:p + 12]
        server_caps = struct.unpack('<H', g[p + 13:p + 15])[0] | struct.unpack('<H', g[p + 18:p + 20])[0] << 16
        rest = g[p + 31:]
        scramble += rest[:rest.index(b'\0')]
        self.scramble = scramble
        self.caps = caps & server_caps
        if token is None:
            token = native_token(password, scramble)
        body = struct.pack('<IIB', caps, 1 << 24, 45) + b'\0' * 23 + user.encode() + b'\0'
        body += lenenc(len(token)) + token if caps & LENENC_DATA else bytes([len(token)]) + token
        if caps & CONNECT_WITH_DB:
            body += db.encode() + b'\0'
        if caps & PLUGIN_AUTH:
            body += plugin.encode() + b'\0'
        if caps & CONNECT_ATTRS:
            if attrs is None:
                attrs = lenenc(4) + b'_pid' + lenenc(4) + b'1234' + lenenc(12) + b'_client_name' + lenenc(10) + \
                    b'capture.py'
            body += lenenc(len(attrs)) + attrs
        response = frame(body, 1)
        self.send(response)
        return greeting, response, self.answer()

    def query(self, sql):
        return self.command(b'\x03' + sql.encode())

    def close(self):
        try:
            self.send(frame(b'\x01', 0))
        finally:
            self.sock.close()


def execute_payload(stmt_id, flags, params=()):
    """COM_STMT_EXECUTE with LONG (int32) parameters."""
    p = b'\x17' + struct.pack('<IBI', stmt_id, flags, 1)
    if params:
        p += b'\0' * ((len(params) + 7) // 8) + b'\x01' + b'\x03\x00' * len(params)
        p += b''.join(struct.pack('<i', v) for v in params)
    return p


def prepare(c, sql):
    req, ans = c.command(b'\x16' + sql.encode())
    stmt_id = struct.unpack('<I', split(ans)[0][1:5])[0]
    return req, ans, stmt_id


class recorder:
    def __init__(self):
        self.exchanges = []   # (name, comment, command byte, caps, request wire, answer wire)
        self.values = []      # (name, comment, value)

    def add(self, name, comment, caps, req, ans, phase='command'):
        cmd = req[4] if phase == 'command' and len(req) > 4 else 0   # 'connect', 'data': no command
        self.exchanges.append((name, comment, cmd, caps, req, ans))
        return ans

    def value(self, name, comment, v):
        self.values.append((name, comment, v))


def relay_one_client(port, argv):
    """Runs a real client through a one-connection relay in front of the
    server; returns the first packet each side sent (greeting, response)."""
    lst = socket.socket()
    lst.bind(('127.0.0.1', 0))
    lst.listen(1)
    first = {}

    def pump(a, b, side):
        buf = b''
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                if side not in first:
                    buf += d
                    n = int.from_bytes(buf[:3], 'little')
                    if len(buf) >= 4 and len(buf) >= 4 + n:
                        first[side] = buf[:4 + n]
                b.sendall(d)
        except OSError:
            pass
        finally:
            try:
                b.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def relay():
        cli, _ = lst.accept()
        srv = socket.create_connection(('127.0.0.1', port))
        t = threading.Thread(target=pump, args=(srv, cli, 'server'))
        t.start()
        pump(cli, srv, 'client')
        t.join()
        cli.close()
        srv.close()

    th = threading.Thread(target=relay)
    th.start()
    subprocess.run(argv + [f'--port={lst.getsockname()[1]}'], check=True, capture_output=True)
    th.join()
    lst.close()
    return first['server'], first['client']


def capture(srv):
    rec = recorder()
    port = srv.port
    track = BASE | SESSION_TRACK
    track_deof = BASE | SESSION_TRACK | DEPRECATE_EOF

    # ---- connection phase ----
    a = conn(port)
    greeting, response, ok = a.login(track)
    rec.add('greeting', 'the server greeting (HandshakeV10)', 0, b'', greeting)
    rec.add('login', 'HandshakeResponse41 from capture.py (session tracking, no DEPRECATE_EOF) and the OK',
            a.caps, response, ok, phase='connect')

    cli_greeting, cli_response = relay_one_client(port, ['mariadb', '--no-defaults', '--protocol=tcp', '-h127.0.0.1',
                                                         f'-u{USER}', f'-p{PASSWORD}', DB, '-e', 'SELECT 1'])
    rec.add('mariadb_cli', 'the mariadb(1) client (libmariadb) through a relay: its HandshakeResponse41 (request) '
            'and the greeting it answered (answer)', 0, cli_response, cli_greeting, phase='connect')

    sw = conn(port)
    greeting2, response2, switch = sw.login(track, plugin='client_ed25519', token=b'')
    rec.add('auth_switch', 'login claiming client_ed25519: the server switches to mysql_native_password', sw.caps,
            response2, switch, phase='connect')
    data = split(switch)[0]
    scramble2 = data[1 + data.index(b'\0'):].rstrip(b'\0')
    reply = frame(native_token(PASSWORD, scramble2), 3)
    sw.send(reply)
    rec.add('auth_switch_ok', 'the token for the switch scramble, and the OK', sw.caps, reply, sw.answer(),
            phase='connect')
    rec.value('auth_switch_token', 'native_password_token(PASSWORD, switch scramble) computed by capture.py',
              native_token(PASSWORD, scramble2))
    sw.close()

    bad = conn(port)
    _, bad_response, denied = bad.login(track, password='wrong')
    rec.add('access_denied', 'login with a wrong password', bad.caps, bad_response, denied, phase='connect')
    bad.sock.close()

    # ---- connection A: session tracking, classic EOFs ----
    rec.add('set_track_gtid', "SET session_track_system_variables='last_gtid' (tracking, EOF)", a.caps,
            *a.query("SET SESSION session_track_system_variables='last_gtid'"))
    rec.add('insert_tracked', 'multi-row INSERT with session tracking: info and last_gtid', a.caps,
            *a.query(f"INSERT INTO {DB}.tracked (v) VALUES ('x'), ('y')"))
    rec.value('insert_tracked_gtid', '@@gtid_binlog_pos right after insert_tracked', srv.sql(
        'SELECT @@gtid_binlog_pos;').encode())
    rec.add('select_eof', 'text result set, classic EOFs', a.caps, *a.query(f'SELECT id, v FROM {DB}.t ORDER BY id'))
    rec.add('select_empty_eof', 'text result set with no rows, classic EOFs', a.caps,
            *a.query(f'SELECT id, v FROM {DB}.t WHERE id > 1000'))
    rec.add('multi_statement_eof', 'two statements in one COM_QUERY (CLIENT_MULTI_STATEMENTS), classic EOFs', a.caps,
            *a.query('SELECT 1 AS one; SELECT 2 AS two'))
    rec.add('multi_statement_err', 'a result set, then an error in the second statement', a.caps,
            *a.query(f'SELECT 1 AS one; SELECT * FROM {DB}.nosuch'))
    rec.add('multi_statement_ok_first', 'an OK with SERVER_MORE_RESULTS_EXISTS, then a result set', a.caps,
            *a.query('SET @a = 1; SELECT @a AS a'))
    rec.add('call_eof', 'CALL of a procedure with two SELECTs: two result sets and an OK, classic EOFs', a.caps,
            *a.query(f'CALL {DB}.two_results()'))
    rec.add('err_no_table', 'SELECT from a missing table', a.caps, *a.query(f'SELECT * FROM {DB}.nosuch'))
    rec.add('begin', 'BEGIN', a.caps, *a.query('BEGIN'))
    rec.add('select_in_trans', 'a SELECT inside a transaction', a.caps, *a.query(f'SELECT v FROM {DB}.t WHERE id = 1'))
    rec.add('insert_in_trans', 'an INSERT inside a transaction: no last_gtid yet', a.caps,
            *a.query(f"INSERT INTO {DB}.tracked (v) VALUES ('z')"))
    rec.add('commit', 'COMMIT: carries last_gtid', a.caps, *a.query('COMMIT'))
    rec.value('commit_gtid', '@@gtid_binlog_pos right after commit', srv.sql('SELECT @@gtid_binlog_pos;').encode())
    rec.add('autocommit_off', 'SET autocommit=0', a.caps, *a.query('SET autocommit=0'))
    rec.add('autocommit_on', 'SET autocommit=1', a.caps, *a.query('SET autocommit=1'))
    rec.add('init_db', 'COM_INIT_DB: tracked as a schema change (type 1), not a variable', a.caps,
            *a.command(b'\x02' + DB.encode()))
    rec.add('ping', 'COM_PING', a.caps, *a.command(b'\x0e'))
    rec.add('statistics', 'COM_STATISTICS: one text packet', a.caps, *a.command(b'\x09'))
    rec.add('field_list_eof', 'COM_FIELD_LIST t, classic EOF', a.caps, *a.command(b'\x04t\0'))
    rec.add('set_option_eof', 'COM_SET_OPTION MULTI_STATEMENTS_ON, classic EOF', a.caps,
            *a.command(b'\x1b\x00\x00'))

    # LOAD DATA LOCAL INFILE: the 0xfb request, the file, the OK.
    req, ans = a.query(f"LOAD DATA LOCAL INFILE 'rows.txt' INTO TABLE {DB}.loaded (v)")
    rec.add('load_data_request', 'LOAD DATA LOCAL INFILE: the server asks for the file (0xfb)', a.caps, req, ans)
    seq = ans[3] + 1
    file_packets = frame(b'p\nq\n', seq) + frame(b'', seq + 1)
    a.send(file_packets)
    rec.add('load_data_ok', 'the file and its empty end packet, and the OK', a.caps, file_packets, a.answer(),
            phase='data')
    rec.value('load_data_gtid', '@@gtid_binlog_pos right after load_data_ok', srv.sql(
        'SELECT @@gtid_binlog_pos;').encode())

    # Prepared statements and cursors, classic EOFs.
    req, ans, sel = prepare(a, f'SELECT id, v FROM {DB}.t WHERE id > ?')
    rec.add('prepare_select_eof', 'COM_STMT_PREPARE, 1 parameter and 2 columns, classic EOFs', a.caps, req, ans)
    req, ans, ins = prepare(a, f'INSERT INTO {DB}.tracked (v) VALUES (?)')
    rec.add('prepare_insert_eof', 'COM_STMT_PREPARE, 1 parameter and no columns', a.caps, req, ans)
    req, ans, one = prepare(a, 'SELECT 1 AS one')
    rec.add('prepare_no_params_eof', 'COM_STMT_PREPARE, no parameters and 1 column', a.caps, req, ans)
    req, ans, call = prepare(a, f'CALL {DB}.two_results()')
    rec.add('prepare_call_eof', 'COM_STMT_PREPARE of a CALL', a.caps, req, ans)
    rec.add('prepare_err', 'COM_STMT_PREPARE of a missing table', a.caps, *a.command(b'\x16SELECT * FROM nosuch'))
    rec.add('execute_eof', 'COM_STMT_EXECUTE, no cursor: binary result set, classic EOFs', a.caps,
            *a.command(execute_payload(sel, 0, [0])))
    rec.add('execute_cursor_eof', 'COM_STMT_EXECUTE with CURSOR_TYPE_READ_ONLY, classic EOFs', a.caps,
            *a.command(execute_payload(sel, 1, [0])))
    rec.add('fetch_first_eof', 'COM_STMT_FETCH 2 of 3 rows', a.caps, *a.command(b'\x1c' + struct.pack('<II', sel, 2)))
    rec.add('select_while_cursor_open_eof', 'a COM_QUERY while a cursor is open (status has no CURSOR_EXISTS)',
            a.caps, *a.query('SELECT 1 AS one'))
    rec.add('fetch_last_eof', 'COM_STMT_FETCH the last row', a.caps, *a.command(b'\x1c' + struct.pack('<II', sel, 2)))
    rec.add('execute_cursor_empty_eof', 'COM_STMT_EXECUTE with a cursor over no rows', a.caps,
            *a.command(execute_payload(sel, 1, [1000])))
    rec.add('fetch_after_empty_eof', 'COM_STMT_FETCH after a cursor over no rows', a.caps,
            *a.command(b'\x1c' + struct.pack('<II', sel, 2)))
    rec.add('execute_insert_cursor', 'COM_STMT_EXECUTE of an INSERT with the cursor flag: OK with last_gtid',
            a.caps, *a.command(execute_payload(ins, 1, [7])))
    rec.value('execute_insert_gtid', '@@gtid_binlog_pos right after execute_insert_cursor', srv.sql(
        'SELECT @@gtid_binlog_pos;').encode())
    rec.add('execute_call_eof', 'COM_STMT_EXECUTE of a CALL: two binary result sets and an OK', a.caps,
            *a.command(execute_payload(call, 0)))
    rec.add('execute_no_params_eof', 'COM_STMT_EXECUTE SELECT 1', a.caps, *a.command(execute_payload(one, 0)))
    rec.add('stmt_reset', 'COM_STMT_RESET', a.caps, *a.command(b'\x1a' + struct.pack('<I', sel)))
    rec.add('stmt_close', 'COM_STMT_CLOSE: no answer', a.caps, *a.command(b'\x19' + struct.pack('<I', one)))
    rec.add('reset_connection', 'COM_RESET_CONNECTION', a.caps, *a.command(b'\x1f'))
    token = native_token(PASSWORD, a.scramble)
    cu = b'\x11' + USER.encode() + b'\0' + bytes([len(token)]) + token + DB.encode() + b'\0' + struct.pack('<H', 45)
    cu += b'mysql_native_password\0' + lenenc(9) + lenenc(4) + b'_pid' + lenenc(3) + b'777'
    req, ans = a.command(cu)
    rec.add('change_user', 'COM_CHANGE_USER with the greeting scramble: the server asks for an auth switch', a.caps,
            req, ans)
    data = split(ans)[0]
    reply = frame(native_token(PASSWORD, data[1 + data.index(b'\0'):].rstrip(b'\0')), ans[3] + 1)
    a.send(reply)
    rec.add('change_user_ok', 'the token for the switch scramble, and the OK', a.caps, reply, a.answer(),
            phase='connect')
    rec.add('process_info', 'COM_PROCESS_INFO: a result set', a.caps, *a.command(b'\x0a'))
    rec.add('refresh', 'COM_REFRESH REFRESH_TABLES', a.caps, *a.command(b'\x07\x04'))
    rec.add('debug', 'COM_DEBUG', a.caps, *a.command(b'\x0d'))
    # Result sets sent while a stored-program cursor is open: the server sets
    # SERVER_STATUS_CURSOR_EXISTS in their EOFs although no COM_STMT_EXECUTE
    # cursor exists (make compat B6; mtr main.ctype_ucs2_uca, main.sp-expr).
    rec.add('compound_for_loop_eof', 'FOR ... DO SET character_set_results=NULL; EXECUTE IMMEDIATE SELECT END FOR: '
            'a result set per row, EOFs with CURSOR_EXISTS', a.caps, *a.query(
                f"FOR rec IN (SELECT v FROM {DB}.t ORDER BY id LIMIT 2) DO SET NAMES utf8mb4; "
                "SET character_set_results=NULL; EXECUTE IMMEDIATE CONCAT('SELECT CONVERT(''', rec.v, "
                "''' USING ucs2) AS u'); END FOR"))
    rec.add('compound_cursor_eof', 'BEGIN NOT ATOMIC ... OPEN cur; FETCH; SELECT va; CLOSE cur; END', a.caps, *a.query(
        f'BEGIN NOT ATOMIC DECLARE va INT; DECLARE cur CURSOR(amin INT) FOR SELECT id FROM {DB}.t WHERE id>amin '
        'ORDER BY id; OPEN cur(1 IN (SELECT id FROM t)); FETCH cur INTO va; SELECT va; CLOSE cur; END'))
    req, ans, cur_call = prepare(a, f'CALL {DB}.cursor_results()')
    rec.add('execute_call_cursor_flag_eof', 'COM_STMT_EXECUTE with CURSOR_TYPE_READ_ONLY of a CALL whose '
            'procedure has a cursor open: no PS cursor, two result sets with CURSOR_EXISTS, an OK', a.caps,
            *a.command(execute_payload(cur_call, 1)))
    a.close()

    # ---- connection B: session tracking and DEPRECATE_EOF ----
    b = conn(port)
    _, response_b, ok_b = b.login(track_deof)
    rec.add('login_deprecate_eof', 'HandshakeResponse41 with DEPRECATE_EOF, and the OK', b.caps, response_b, ok_b,
            phase='connect')
    rec.add('select_deof', 'text result set, DEPRECATE_EOF', b.caps, *b.query(f'SELECT id, v FROM {DB}.t ORDER BY id'))
    rec.add('select_empty_deof', 'text result set with no rows, DEPRECATE_EOF', b.caps,
            *b.query(f'SELECT id, v FROM {DB}.t WHERE id > 1000'))
    rec.add('multi_statement_deof', 'two statements in one COM_QUERY, DEPRECATE_EOF', b.caps,
            *b.query('SELECT 1 AS one; SELECT 2 AS two'))
    rec.add('multi_statement_ok_first_deof', 'an OK with SERVER_MORE_RESULTS_EXISTS, then a result set, '
            'DEPRECATE_EOF', b.caps, *b.query('SET @a = 1; SELECT @a AS a'))
    rec.add('call_deof', 'CALL of a procedure with two SELECTs, DEPRECATE_EOF', b.caps,
            *b.query(f'CALL {DB}.two_results()'))
    rec.add('field_list_deof', 'COM_FIELD_LIST t, DEPRECATE_EOF', b.caps, *b.command(b'\x04t\0'))
    rec.add('set_option_deof', 'COM_SET_OPTION MULTI_STATEMENTS_OFF, DEPRECATE_EOF', b.caps,
            *b.command(b'\x1b\x01\x00'))
    rec.add('debug_deof', 'COM_DEBUG, DEPRECATE_EOF', b.caps, *b.command(b'\x0d'))
    rec.add('process_info_deof', 'COM_PROCESS_INFO, DEPRECATE_EOF', b.caps, *b.command(b'\x0a'))
    req, ans, sel_b = prepare(b, f'SELECT id, v FROM {DB}.t WHERE id > ?')
    rec.add('prepare_select_deof', 'COM_STMT_PREPARE, 1 parameter and 2 columns, DEPRECATE_EOF', b.caps, req, ans)
    req, ans, ins_b = prepare(b, f'INSERT INTO {DB}.tracked (v) VALUES (?)')
    rec.add('prepare_insert_deof', 'COM_STMT_PREPARE, 1 parameter and no columns, DEPRECATE_EOF', b.caps, req, ans)
    req, ans, call_b = prepare(b, f'CALL {DB}.two_results()')
    rec.add('prepare_call_deof', 'COM_STMT_PREPARE of a CALL, DEPRECATE_EOF', b.caps, req, ans)
    rec.add('execute_deof', 'COM_STMT_EXECUTE, no cursor, DEPRECATE_EOF', b.caps,
            *b.command(execute_payload(sel_b, 0, [0])))
    rec.add('execute_cursor_deof', 'COM_STMT_EXECUTE with CURSOR_TYPE_READ_ONLY, DEPRECATE_EOF', b.caps,
            *b.command(execute_payload(sel_b, 1, [0])))
    rec.add('fetch_first_deof', 'COM_STMT_FETCH 2 of 3 rows, DEPRECATE_EOF', b.caps,
            *b.command(b'\x1c' + struct.pack('<II', sel_b, 2)))
    rec.add('fetch_last_deof', 'COM_STMT_FETCH the last row, DEPRECATE_EOF', b.caps,
            *b.command(b'\x1c' + struct.pack('<II', sel_b, 2)))
    rec.add('execute_cursor_empty_deof', 'COM_STMT_EXECUTE with a cursor over no rows, DEPRECATE_EOF', b.caps,
            *b.command(execute_payload(sel_b, 1, [1000])))
    rec.add('execute_call_deof', 'COM_STMT_EXECUTE of a CALL, DEPRECATE_EOF', b.caps,
            *b.command(execute_payload(call_b, 0)))
    rec.add('compound_for_loop_deof', 'the FOR loop of compound_for_loop_eof, DEPRECATE_EOF', b.caps, *b.query(
        f"FOR rec IN (SELECT v FROM {DB}.t ORDER BY id LIMIT 2) DO SET NAMES utf8mb4; "
        "SET character_set_results=NULL; EXECUTE IMMEDIATE CONCAT('SELECT CONVERT(''', rec.v, "
        "''' USING ucs2) AS u'); END FOR"))
    rec.add('set_autocommit_tracked_deof', 'SET autocommit=0 with the default tracked variables, DEPRECATE_EOF',
            b.caps, *b.query('SET autocommit=0'))
    b.close()

    # ---- connection C: no session tracking (what build_ok must produce) ----
    c = conn(port)
    _, response_c, ok_c = c.login(BASE)
    rec.add('login_untracked', 'HandshakeResponse41 without session tracking, and the OK', c.caps, response_c, ok_c,
            phase='connect')
    rec.add('insert_untracked', 'the multi-row INSERT of insert_tracked, on a connection without tracking', c.caps,
            *c.query(f"INSERT INTO {DB}.untracked (v) VALUES ('x'), ('y')"))
    rec.add('set_autocommit_untracked', 'SET autocommit=0 without tracking', c.caps, *c.query('SET autocommit=0'))
    c.close()
    return rec


def c_string(data, indent):
    """Adjacent C string literals, 20 bytes per line, every byte escaped."""
    if not data:
        return '""sv'
    lines = []
    for i in range(0, len(data), 20):
        lines.append('"' + ''.join(f'\\x{x:02x}' for x in data[i:i + 20]) + '"')
    return ('\n' + ' ' * indent).join(lines) + 'sv'


def write_header(rec, version):
    out = [
        '// Bytes captured from MariaDB %s over TCP by t/unit/protocol/capture.py;' % version,
        '// do not edit: rerun the script (from the repo root) to regenerate this file',
        '// and the fuzz seed corpora. Each exchange is wire bytes (4-byte headers',
        '// included): what the client sent and what the server answered.',
        '#pragma once',
        '',
        '#include <cstdint>',
        '#include <string_view>',
        '',
        'namespace causeway::protocol::captured {',
        '',
        'using namespace std::string_view_literals;',
        '',
        'struct exchange {',
        '    const char* name;',
        '    std::uint8_t command;        // the first byte of the request (0 in the connection phase)',
        '    std::uint32_t capabilities;  // negotiated on the connection (client & server)',
        '    std::string_view request;',
        '    std::string_view answer;',
        '};',
        '',
        f'inline constexpr const char* server_version = "{version}";',
        f'inline constexpr const char* user = "{USER}";',
        f'inline constexpr const char* password = "{PASSWORD}";',
        f'inline constexpr const char* database = "{DB}";',
        '',
    ]
    for name, comment, v in rec.values:
        out.append(f'// {comment}')
        if isinstance(v, int):
            out.append(f'inline constexpr std::uint32_t {name} = 0x{v:08x};')
        elif all(0x20 <= x < 0x7f and x not in b'"\\?' for x in v):
            out.append(f'inline constexpr std::string_view {name} = "{v.decode()}"sv;')
        else:
            out.append(f'inline constexpr std::string_view {name} = {c_string(v, 4)};')
    out.append('')
    for name, comment, cmd, caps, req, ans in rec.exchanges:
        out.append(f'// {comment}')
        out.append(f'inline constexpr exchange {name} = {{')
        out.append(f'    "{name}", 0x{cmd:02x}, 0x{caps:08x},')
        out.append(f'    {c_string(req, 4)},')
        out.append(f'    {c_string(ans, 4)},')
        out.append('};')
    out.append('')
    out.append('inline constexpr exchange all[] = {')
    for i in range(0, len(rec.exchanges), 4):
        out.append('    ' + ' '.join(e[0] + ',' for e in rec.exchanges[i:i + 4]))
    out.append('};')
    out.append('')
    out.append('}  // namespace causeway::protocol::captured')
    with open(HEADER, 'w') as f:
        f.write('\n'.join(out) + '\n')


def write_corpora(rec):
    """Seeds: packet/ gets capabilities (4 bytes LE) + one payload; response/
    gets command + capabilities + the answer's wire bytes (response_fuzz.cc)."""
    for d in ('packet', 'response'):
        path = os.path.join(CORPUS, d)
        if os.path.isdir(path):
            for f in os.listdir(path):
                if f.startswith('captured-'):
                    os.unlink(os.path.join(path, f))
        os.makedirs(path, exist_ok=True)
    for name, _, cmd, caps, req, ans in rec.exchanges:
        for side, wire in (('req', req), ('ans', ans)):
            for i, p in enumerate(split(wire)):
                with open(os.path.join(CORPUS, 'packet', f'captured-{name}-{side}{i}'), 'wb') as f:
                    f.write(struct.pack('<I', caps) + p)
        if cmd and ans:
            with open(os.path.join(CORPUS, 'response', f'captured-{name}'), 'wb') as f:
                f.write(bytes([cmd]) + struct.pack('<I', caps) + ans)
    # Answers in a row: after one is done, the next input byte is a command.
    by_name = {e[0]: e for e in rec.exchanges}
    chains = {
        'load_data': ['load_data_request', 'load_data_ok'],
        'cursor_eof': ['prepare_select_eof', 'execute_cursor_eof', 'fetch_first_eof', 'fetch_last_eof'],
        'cursor_deof': ['prepare_select_deof', 'execute_cursor_deof', 'fetch_first_deof', 'fetch_last_deof'],
        'transaction': ['begin', 'select_in_trans', 'insert_in_trans', 'commit'],
    }
    for chain, names in chains.items():
        first = by_name[names[0]]
        data = bytes([first[2]]) + struct.pack('<I', first[3]) + first[5]
        for n in names[1:]:
            e = by_name[n]
            data += (bytes([e[2]]) if e[2] else b'') + e[5]   # load_data_ok continues the same command
        with open(os.path.join(CORPUS, 'response', f'captured-chain-{chain}'), 'wb') as f:
            f.write(data)


def main():
    if not os.path.isdir('protocol'):
        sys.exit('run from the repo root')
    srv = server()
    try:
        srv.start()
        version = srv.version()
        rec = capture(srv)
    finally:
        srv.stop()
    write_header(rec, version)
    write_corpora(rec)
    if os.environ.get('CAPTURE_VERBOSE'):
        for name, _, cmd, caps, req, ans in rec.exchanges:
            print(f'{name} cmd={cmd:#04x} caps={caps:#010x}')
            for side, wire in (('>', req), ('<', ans)):
                i = 0
                while i < len(wire):
                    n = int.from_bytes(wire[i:i + 3], 'little')
                    print(f'  {side} seq={wire[i + 3]} len={n} {wire[i + 4:i + 4 + min(n, 40)].hex(" ")}')
                    i += 4 + n
    print(f'{HEADER}: {len(rec.exchanges)} exchanges from MariaDB {version}')


if __name__ == '__main__':
    main()
