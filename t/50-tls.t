# Client TLS: the proxy terminates TLS with a certificate made at test time. The mariadb CLI
# (--ssl, --ssl-verify-server-cert with the test CA; a wrong CA fails), DBD::MariaDB, PyMySQL,
# PHP PDO (PDO::MYSQL_ATTR_SSL_CA) and openssl s_client -starttls mysql all see an encrypted,
# verified connection; the servers behind see plain connections. tls_mode = required refuses a
# plain client with ERR 3159; garbage instead of a ClientHello is closed and counted, nothing
# crashes; a reload with new certificate files serves the new certificate to new connections
# while an established TLS connection keeps working.
use strict;
use warnings;
use Test::More;
use JSON::PP qw(decode_json);
use lib 't/lib';
use Causeway::Test;
use Causeway::Certs;
use Causeway::Util qw(wait_until spit slurp);
use Causeway::Wire;
use File::Copy qw(copy);

my $t = Causeway::Test->new;
$t->need_proxy('TLS is terminated by causewayd');
my $dir = $t->dir;
my $ca = Causeway::Certs->new(dir => $dir, name => 'ca');
my ($cert1, $key1) = $ca->server('server1');
my ($cert2, $key2) = $ca->server('server2');
my $other_ca = Causeway::Certs->new(dir => $dir, name => 'otherca');
copy($cert1, "$dir/live.pem") or die;
copy($key1, "$dir/live.key") or die;
chmod 0600, "$dir/live.key";

my $topo = $t->topology;
my $cw = $t->causeway(config => { causeway => { tls_cert => "$dir/live.pem", tls_key => "$dir/live.key" } });
my $port = $cw->port;
my $cafile = $ca->ca_file;
my $ctl = $t->root . '/bin/causewayctl';

sub counters {
    my ($proxy) = @_;
    my $r = $t->run([$ctl, '-c', ($proxy // $cw)->cnf, '--json', 'counters'], timeout => 20);
    my $j = eval { decode_json($r->{out}) } or return {};
    return $j->{total}{counters};
}

sub status_of {    # the mariadb CLI's `status` output through the proxy
    my (@args) = @_;
    return $t->mariadb([@args, '-e', 'status'], port => $port);
}

# ------------------------------------------------------------------ mariadb CLI
{
    my $r = status_of('--ssl');
    is($r->{exit}, 0, 'mariadb --ssl connects') or diag($r->{err});
    like($r->{out}, qr/^SSL:\s+Cipher in use is \S+/m, 'mariadb --ssl: status shows a cipher in use');
    $r = status_of('--ssl', "--ssl-ca=$cafile", '--ssl-verify-server-cert');
    is($r->{exit}, 0, 'mariadb --ssl-verify-server-cert with the test CA connects') or diag($r->{err});
    like($r->{out}, qr/^SSL:\s+Cipher in use is \S+/m, 'verified: cipher in use');
    $r = status_of('--ssl', '--ssl-ca=' . $other_ca->ca_file, '--ssl-verify-server-cert');
    isnt($r->{exit}, 0, 'mariadb --ssl-verify-server-cert with another CA fails');
    like($r->{err}, qr/ERROR 2026|SSL|certificate/i, 'another CA: a TLS error (2026)');
    $r = status_of('--skip-ssl');
    is($r->{exit}, 0, 'tls_mode = allowed: a plain client still connects');
    like($r->{out}, qr/^SSL:\s+Not in use/m, 'plain client: SSL not in use');
    $r = $t->mariadb(['--ssl', '-N', '-e', "SHOW SESSION STATUS LIKE 'Ssl_cipher'"]);
    like($r->{out}, qr/^Ssl_cipher\s*$/m, 'the server behind sees a plain connection (TLS ends at the proxy)');
}

# ------------------------------------------------------------------ drivers
{
    my $dbh = $t->connect(dsn => "mariadb_ssl=1;mariadb_ssl_verify_server_cert=1;mariadb_ssl_ca_file=$cafile");
    ok($dbh, 'DBD::MariaDB with mariadb_ssl_verify_server_cert connects') or diag($DBI::errstr);
    if ($dbh) {
        ok(defined $dbh->{mariadb_ssl_cipher}, 'DBD::MariaDB: the connection is encrypted (' .
           ($dbh->{mariadb_ssl_cipher} // 'none') . ')');
        is(($dbh->selectrow_array('SELECT 40 + 2'))[0], 42, 'DBD::MariaDB: a query over TLS');
        # A large result: many TLS records each way.
        my ($len) = $dbh->selectrow_array("SELECT LENGTH(REPEAT('x', 3000000))");
        my ($big) = $dbh->selectrow_array("SELECT REPEAT('abcdefgh', 500000)");
        is(length($big // ''), 4000000, 'DBD::MariaDB: a 4 MB value over TLS arrives whole');
        my $blob = 'y' x 2000000;
        my ($echo) = $dbh->selectrow_array('SELECT LENGTH(?)', undef, $blob);
        is($echo, 2000000, 'DBD::MariaDB: a 2 MB parameter over TLS');
    }
    my $py = Causeway::Test::python();
    SKIP: {
        skip 'python3 with pymysql is missing', 3 unless $py;
        my $script = <<"PY";
import pymysql, ssl
c = pymysql.connect(host='127.0.0.1', port=$port, user='app', password='secret', database='test',
                    ssl={'ca': '$cafile'}, connect_timeout=10)
print('ok pymysql_connect')
v = c._sock.version() if hasattr(c._sock, 'version') else None
print(('ok' if v in ('TLSv1.2', 'TLSv1.3') else 'not ok') + ' pymysql_tls: ' + str(v))
cur = c.cursor(); cur.execute('SELECT 6 * 7'); r = cur.fetchone()[0]
print(('ok' if r == 42 else 'not ok') + ' pymysql_query')
PY
        $t->script_checks('PyMySQL with ssl ca', [$py, '-c', $script], [qw(pymysql_connect pymysql_tls pymysql_query)]);
    }
    my $php = <<"PHP";
<?php
try {
  \$db = new PDO('mysql:host=127.0.0.1;port=$port;dbname=test', 'app', 'secret',
    [PDO::MYSQL_ATTR_SSL_CA => '$cafile', PDO::MYSQL_ATTR_SSL_VERIFY_SERVER_CERT => true,
     PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
  echo "ok pdo_connect\\n";
  echo (\$db->query('SELECT 6 * 7')->fetchColumn() == 42 ? 'ok' : 'not ok') . " pdo_query\\n";
} catch (Exception \$e) { echo 'not ok pdo_connect: ' . \$e->getMessage() . "\\n"; }
PHP
    spit("$dir/tls.php", $php);
    my $before = counters()->{tls_connections} // 0;
    $t->script_checks('PHP PDO with MYSQL_ATTR_SSL_CA', ['php', "$dir/tls.php"], [qw(pdo_connect pdo_query)]);
    cmp_ok(counters()->{tls_connections} // 0, '>', $before, 'PDO: the connection was upgraded to TLS (counted)');
}

# ------------------------------------------------------------------ openssl s_client
sub s_client_subject {
    my $r = $t->run(['openssl', 's_client', '-connect', "127.0.0.1:$port", '-starttls', 'mysql', '-CAfile', $cafile,
                     '-verify_return_error', '-brief'], stdin => '', timeout => 20);
    my ($subject) = ($r->{out} . $r->{err}) =~ /Peer certificate:\s*(.*)/i;
    my ($verify) = ($r->{out} . $r->{err}) =~ /Verification:\s*(\S+)/;
    return ($subject // '', $verify // '', $r);
}
{
    my ($subject, $verify, $r) = s_client_subject();
    like($subject, qr/O\s*=\s*server1/, 'openssl s_client -starttls mysql: the certificate is server1')
        or diag("$r->{out}\n$r->{err}");
    is($verify, 'OK', 'openssl s_client: verified against the test CA');
}

# ------------------------------------------------------------------ garbage and stalls
{
    my $before = counters()->{tls_failures} // 0;
    my $w = Causeway::Wire->new(port => $port, timeout => 10);
    ok($w->handshake->{capabilities} & 0x800, 'the greeting offers CLIENT_SSL');
    my $caps = 0x200 | 0x800 | 0x8000 | 0x80000;   # PROTOCOL_41 | SSL | SECURE_CONNECTION | PLUGIN_AUTH
    $w->send_packet(pack('VVC', $caps, 16 << 20, 45) . ("\0" x 23), 1);
    $w->send_raw("GET / HTTP/1.1\r\nHost: causeway\r\n\r\n");
    ok($w->closed_within(5), 'garbage instead of a ClientHello: the connection is closed');
    ok(wait_until(sub { (counters()->{tls_failures} // 0) > $before }, timeout => 5), 'and counted in tls_failures');
    like($cw->log_text, qr/TLS failed: .*(wrong version|http|unknown protocol|record)/i, 'and logged with the reason');
    my $r = status_of('--ssl');
    like($r->{out}, qr/Cipher in use/, 'a TLS client right after is served');

    # An SSLRequest when TLS was not offered is a protocol error, not a crash.
    my $plain = $t->causeway(config => { causeway => { tls_mode => 'disabled', tls_cert => "$dir/live.pem",
                                                        tls_key => "$dir/live.key" } });
    my $p = Causeway::Wire->new(port => $plain->port, timeout => 10);
    ok(!($p->handshake->{capabilities} & 0x800), 'tls_mode = disabled: CLIENT_SSL is not offered');
    $p->send_packet(pack('VVC', $caps, 16 << 20, 45) . ("\0" x 23), 1);
    my $resp = $p->read_response(5);
    ok($resp->{type} eq 'err' || $resp->{type} eq 'closed', 'an SSLRequest anyway: ERR or close');
    $r = $t->mariadb(['--ssl', "--ssl-ca=$cafile", '--ssl-verify-server-cert', '-e', 'select 1'],
                     port => $plain->port);
    isnt($r->{exit}, 0, 'mariadb --ssl-verify-server-cert against tls_mode = disabled fails');
    $t->stop_causeway($plain);
}

# ------------------------------------------------------------------ tls_mode = required
{
    my $req = $t->causeway(config => { causeway => { tls_mode => 'required', tls_cert => "$dir/live.pem",
                                                      tls_key => "$dir/live.key" } });
    my $r = $t->mariadb(['--skip-ssl', '-e', 'select 1'], port => $req->port);
    isnt($r->{exit}, 0, 'tls_mode = required: a plain client is refused');
    like($r->{err}, qr/ERROR 3159 \(08004\).*insecure transport/, 'with ERR 3159 (08004)');
    $r = $t->mariadb(['--ssl', '-N', '-e', 'select 7'], port => $req->port);
    is($r->{exit}, 0, 'tls_mode = required: a TLS client is served');
    like($r->{out}, qr/^7$/m, 'and gets its answer');
    my $dbh = $t->connect(port => $req->port);
    ok(!$dbh, 'DBD::MariaDB without ssl is refused');
    is($DBI::err, 3159, 'DBD::MariaDB: ERR 3159');
    $t->stop_causeway($req);
}

# ------------------------------------------------------------------ reload with new certificate files
{
    my $dbh = $t->connect(port => $port,
                          dsn => "mariadb_ssl=1;mariadb_ssl_verify_server_cert=1;mariadb_ssl_ca_file=$cafile");
    ok($dbh, 'a TLS connection is open before the reload') or diag($DBI::errstr);
    copy($cert2, "$dir/live.pem") or die;
    copy($key2, "$dir/live.key") or die;
    kill 'HUP', $cw->pid;
    ok(wait_until(sub { $cw->log_text =~ /generation 2 is accepting/ }, timeout => 15), 'reload: generation 2 accepts');
    my ($subject, $verify) = s_client_subject();
    like($subject, qr/O\s*=\s*server2/, 'after the reload new connections get the new certificate');
    is(($dbh->selectrow_array('SELECT 1 + 1'))[0], 2, 'the connection opened before the reload still works')
        if $dbh;

    # A broken certificate file on reload keeps the running configuration.
    spit("$dir/live.pem", "not a certificate\n");
    kill 'HUP', $cw->pid;
    ok(wait_until(sub { $cw->log_text =~ /reload: tls_cert .*keeping the running configuration/ }, timeout => 10),
       'reload with a broken certificate: refused, the running one kept');
    ($subject) = s_client_subject();
    like($subject, qr/O\s*=\s*server2/, 'and TLS still works with the loaded certificate');
}

# A bad certificate at start: causewayd -t names the file.
{
    my $bad = "$dir/bad.ini";
    my $text = slurp($cw->cnf);
    $text =~ s/^tls_cert = .*$/tls_cert = $dir\/missing.pem/m;
    spit($bad, $text);
    my $r = $t->run([$t->root . '/bin/causewayd', '-t', '-c', $bad]);
    isnt($r->{exit}, 0, 'causewayd -t with a missing certificate fails');
    like($r->{err}, qr/tls_cert \Q$dir\E\/missing\.pem/, 'and names the file');
}

$t->done;
