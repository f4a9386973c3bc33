# The compressed protocol (CLIENT_COMPRESS) between clients and the proxy, issue 7 item 5b (f):
# the proxy offers it as a server does, so `mariadb --compress` gets a compressed session
# (before, it silently got a plain one: SHOW STATUS LIKE 'Compression' said OFF). With the CLI
# (queries, a result over 16 MiB in many frames, a 20 MiB value, LOAD DATA LOCAL INFILE,
# multi-statements, errors and warnings), DBD::MariaDB (mariadb_compression), PHP mysqli
# (mysqlnd's own implementation), Connector/J (useCompression), with and without TLS, in
# smartscale mode (reads on replicas, read-your-writes) and bridge mode; raw frames from a
# test client check the sequence ids, and a corrupt deflate stream closes the connection,
# logged and counted. client_compression = off stops offering it.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha1_hex);
use Compress::Zlib qw(compress);
use lib 't/lib';
use Causeway::Test;
use Causeway::Certs;
use Causeway::Wire;

my $t = Causeway::Test->new;
$t->need_proxy('compression is between the client and causewayd');
my $dir = $t->dir;
my $ca = Causeway::Certs->new(dir => $dir, name => 'ca');
my ($cert, $key) = $ca->server('proxy');
my $topo = $t->topology;
my $primary = $topo->primary;
my $admin_port = free_port();
my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', tls_cert => $cert, tls_key => $key,
                                                admin_listen => "127.0.0.1:$admin_port", admin_tls => 'off' } });
my $port = $cw->port;

sub compressed_count { return $t->ctl_counters($cw)->{compressed_connections} // 0 }

$primary->sql('CREATE TABLE test.c (id INT PRIMARY KEY, v VARCHAR(100))');
$primary->sql('CREATE TABLE test.li (id INT PRIMARY KEY, a VARCHAR(64), b INT)');
$topo->wait_for_replicas;

# ------------------------------------------------------------------ mariadb CLI
for my $tls (0, 1) {
    my @tls = $tls ? ('--ssl') : ('--skip-ssl');
    my $label = $tls ? 'mariadb --compress --ssl' : 'mariadb --compress';
    my $before = compressed_count();
    my $r = $t->mariadb([@tls, '--compress', '-e', 'status']);
    is($r->{exit}, 0, "$label: connects") or diag($r->{err});
    like($r->{out}, qr/^Protocol:\s+Compressed/m, "$label: the CLI's status says the protocol is compressed");
    like($r->{out}, $tls ? qr/^SSL:\s+Cipher in use is \S+/m : qr/^SSL:\s+Not in use/m, "$label: TLS as asked");
    cmp_ok(compressed_count(), '>', $before, "$label: counted as a compressed connection");
    $r = $t->mariadb([@tls, '--compress', '-N', '-e', "SHOW STATUS LIKE 'Compression'; SHOW SESSION STATUS LIKE 'compression'"]);
    is($r->{out}, "Compression\tON\nCompression\tON\n", "$label: SHOW STATUS LIKE 'Compression' is ON, as from a server")
        or diag($r->{err});
    # A result of ~25 MiB in 250,000 rows: hundreds of frames, each carrying many packets
    # and parts of packets; compared with the same query straight from the primary.
    my $q = "SELECT seq, REPEAT(CHAR(65 + seq % 26), 90 + seq % 17) FROM seq_1_to_250000";
    $r = $t->mariadb([@tls, '--compress', '-N', '-e', $q], timeout => 120);
    my $direct = $t->mariadb(['-N', '-e', $q], port => $primary->port, timeout => 120);
    ok(length($r->{out}) > 16 * 1024 * 1024, "$label: a result of " . length($r->{out}) . ' bytes');
    is(sha1_hex($r->{out}), sha1_hex($direct->{out}), "$label: the large result equals the primary's")
        or diag($r->{err});
    # One 20 MiB value: a packet over 16 MiB, split into two packets and many frames.
    $r = $t->mariadb([@tls, '--compress', '--max-allowed-packet=64M', '-N', '-e',
                      "SELECT REPEAT(SHA1(7), 655360)"], timeout => 120);
    chomp(my $v = $r->{out});
    is(length($v), 40 * 655360, "$label: a 25 MiB value arrives whole") or diag($r->{err});
    is($v, sha1_hex(7) x 655360, "$label: the 25 MiB value is intact");
}

# The Compression status in every form that shows it (SHOW [SESSION | GLOBAL] STATUS with
# LIKE or WHERE, information_schema's SESSION_STATUS and GLOBAL_STATUS, any column order),
# as text and as server-side prepared statements, compressed or not: the rows and the column
# metadata are the primary's own (the server session behind is never compressed: before, only
# the text form SHOW STATUS LIKE 'Compression' said ON, with a SELECT's metadata).
my @status_forms = ("SHOW STATUS LIKE 'Compression'", "SHOW SESSION STATUS LIKE 'Compr%'",
                    "SHOW STATUS WHERE Variable_name = 'Compression'", "SHOW GLOBAL STATUS LIKE 'Compression'",
                    "SELECT * FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'COMPRESSION'",
                    "SELECT * FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'COMPRESSION'",
                    "SELECT 7, s.VARIABLE_VALUE, s.variable_name FROM information_schema.session_status s "
                    . "WHERE VARIABLE_NAME LIKE 'COMPRESS%'");
for my $compress (1, 0) {
    my @c = ('--skip-ssl', $compress ? ('--compress') : ());
    my $forms = join('; ', @status_forms);
    my $d = $t->mariadb([@c, '--column-type-info', '-e', $forms], port => $primary->port);
    my $r = $t->mariadb([@c, '--column-type-info', '-e', $forms]);
    my $word = $compress ? 'ON' : 'OFF';
    my $says = () = $d->{out} =~ /\t$word(?:\t|$)/mg;
    is($says, scalar @status_forms, 'mariadb' . ($compress ? ' --compress' : '') . ": the primary says $word in every form")
        or diag($d->{out});
    is($r->{out}, $d->{out}, 'mariadb' . ($compress ? ' --compress' : '') . ': every form, with its metadata, as from the primary')
        or diag($r->{err});
    for my $ps (0, 1) {
        my $dsn = "mariadb_compression=$compress" . ($ps ? ';mariadb_server_prepare=1' : '');
        my $label = 'DBD::MariaDB' . ($compress ? ' compressed' : '') . ($ps ? ', server prepares' : '');
        my ($h, $direct) = ($t->connect(dsn => $dsn), $t->connect(port => $primary->port, dsn => $dsn));
        for my $q (@status_forms) {
            my $want = $direct->selectall_arrayref($q);
            is_deeply($h->selectall_arrayref($q), $want, "$label: $q")
                or diag(explain { want => $want, err => $h->errstr });
        }
        $_->disconnect for $h, $direct;
    }
}

# Multi-statements, warnings and errors in one compressed session: the same as from the
# primary itself, compressed too.
{
    my @cmds = (
        ['--force', '-N', '-e',
         "SELECT 1; SELECT 2 UNION SELECT 3; SELECT * FROM test.nosuch; SELECT 1/0; SHOW WARNINGS; SELECT 'after'"],
        ['-N', '-e', "DELIMITER //\nCREATE PROCEDURE test.two() BEGIN SELECT 'a'; SELECT 'b'; END//\nDELIMITER ;\n"
         . "CALL test.two(); SELECT CAST('12x' AS INT); SHOW WARNINGS"],
    );
    for my $i (0 .. $#cmds) {
        my $r = $t->mariadb(['--compress', @{ $cmds[$i] }]);
        $primary->sql('DROP PROCEDURE IF EXISTS test.two') if $i == 1;
        my $d = $t->mariadb(['--compress', @{ $cmds[$i] }], port => $primary->port);
        ok(length $r->{out}, "statements $i: results") or diag($r->{err});
        is($r->{out}, $d->{out}, "statements $i: results and warnings as from the primary");
        is($r->{err}, $d->{err}, "statements $i: errors as from the primary");
    }
}

# LOAD DATA LOCAL INFILE: the file goes up in compressed frames.
{
    my $file = "$dir/li.tsv";
    open(my $fh, '>', $file) or die;
    print $fh join("\t", $_, sha1_hex($_), $_ * 3), "\n" for 1 .. 60000;
    close $fh;
    my $r = $t->mariadb(['--compress', '--local-infile=1', '-N', '-e',
                         "LOAD DATA LOCAL INFILE '$file' INTO TABLE test.li; SELECT COUNT(*), SUM(b) FROM test.li"],
                        timeout => 120);
    is($r->{out}, "60000\t" . (3 * 60000 * 60001 / 2) . "\n", 'LOAD DATA LOCAL INFILE of 60,000 rows over compression')
        or diag($r->{err});
    is($primary->value('SELECT COUNT(*) FROM test.li'), 60000, 'the rows are on the primary');
}

# ------------------------------------------------------------------ drivers
# DBD::MariaDB (libmariadb) with mariadb_compression: text and server-side prepares, a
# 20 MiB parameter up and a large result down, and smartscale routing: plain reads on
# the replicas, a write read back at once never stale.
$topo->add_markers;
$topo->wait_for_replicas;
my %replica = map { ($_->name => 1) } $topo->replicas;
for my $ps (0, 1) {
    my $label = 'DBD::MariaDB' . ($ps ? ' (server prepares)' : '');
    my $before = compressed_count();
    my $dbh = $t->connect(dsn => 'mariadb_compression=1' . ($ps ? ';mariadb_server_prepare=1' : ''), read_timeout => 120);
    ok($dbh, "$label: connects with mariadb_compression") or diag($DBI::errstr);
    next unless $dbh;
    cmp_ok(compressed_count(), '>', $before, "$label: a compressed connection");
    is(($dbh->selectrow_array("SHOW STATUS LIKE 'Compression'"))[1], 'ON', "$label: Compression is ON");
    my $blob = join('', map { chr($_ % 256) } 0 .. 65535) x 320;    # 20 MiB, every byte value
    my $blob_sum = sub {    # what the server makes of the blob sent by $h
        my $h = shift;
        my $st = $h->prepare('SELECT LENGTH(x), SHA1(x) FROM (SELECT ? AS x) d');
        $st->bind_param(1, $blob, DBI::SQL_BLOB);
        $st->execute;
        my @r = $st->fetchrow_array;
        $st->finish;
        return join ' ', map { $_ // 'undef' } @r;
    };
    my $direct = $t->connect(port => $primary->port, dsn => $ps ? 'mariadb_server_prepare=1' : '', read_timeout => 120);
    my $want = $blob_sum->($direct);
    like($want, qr/^20971520 /, "$label: the 20 MiB parameter, straight to the primary");
    is($blob_sum->($dbh), $want, "$label: a 20 MiB parameter arrives as it does straight to the primary");
    my $rows = $dbh->selectall_arrayref('SELECT seq, SHA1(seq) FROM seq_1_to_100000 WHERE seq > ?', undef, 0);
    is(scalar(@$rows), 100000, "$label: 100,000 rows");
    is(sha1_hex(join ',', map { @$_ } @$rows), sha1_hex(join ',', map { ($_, sha1_hex($_)) } 1 .. 100000),
       "$label: the rows are intact");
    my ($stale, $ryw_on_replica, $reads_on_replica) = (0, 0, 0);
    for my $i (1 .. 100) {
        my $id = 100 * ($ps + 1) + $i;
        $dbh->do('INSERT INTO test.c (id, v) VALUES (?, ?)', undef, $id, "v$i") or diag($dbh->errstr);
        my ($v, $who) = $dbh->selectrow_array('SELECT c.v, m.name FROM test.c c JOIN test.marker m WHERE c.id = ?',
                                              undef, $id);
        $stale++ unless defined $v && $v eq "v$i";
        $ryw_on_replica++ if $who && $replica{$who};
    }
    $topo->wait_for_replicas;
    for (1 .. 50) {
        my ($who) = $dbh->selectrow_array('SELECT name FROM test.marker');
        $reads_on_replica++ if $who && $replica{$who};
    }
    is($stale, 0, "$label: 100 writes each read back at once: none stale");
    note("$label: read-your-writes reads served by a replica: $ryw_on_replica of 100");
    is($reads_on_replica, 50, "$label: plain reads of a caught-up session go to the replicas");
    my $ok = $dbh->do('SELECT * FROM test.nosuch');
    is($dbh->err, 1146, "$label: an error");
    is(($dbh->selectrow_array("SELECT 'after'"))[0], 'after', "$label: the session goes on after it");
    $dbh->disconnect;
}

# PHP mysqli with MYSQLI_CLIENT_COMPRESS: mysqlnd's own implementation of the protocol.
{
    my $php = <<"PHP";
<?php
mysqli_report(MYSQLI_REPORT_OFF);
\$m = mysqli_init();
if (!\$m->real_connect('127.0.0.1', 'app', 'secret', 'test', $port, null, MYSQLI_CLIENT_COMPRESS)) {
  echo "not ok connect: ", mysqli_connect_error(), "\\n"; exit(1);
}
echo "ok connect\\n";
\$r = \$m->query("SHOW STATUS LIKE 'Compression'")->fetch_row();
echo (\$r[1] === 'ON' ? "ok" : "not ok"), " status: \$r[1]\\n";
\$n = 0; \$sum = 0;
\$res = \$m->query("SELECT seq, REPEAT('q', 300) FROM seq_1_to_80000", MYSQLI_USE_RESULT);
while (\$row = \$res->fetch_row()) { \$n++; \$sum += \$row[0]; }
echo (\$n == 80000 && \$sum == 80000 * 80001 / 2 ? "ok" : "not ok"), " large: \$n rows\\n";
\$st = \$m->prepare('SELECT LENGTH(?)');
\$big = str_repeat('0123456789', 300000);
\$st->bind_param('s', \$big); \$st->execute(); \$st->bind_result(\$len); \$st->fetch(); \$st->close();
echo (\$len == 3000000 ? "ok" : "not ok"), " prepared: \$len\\n";
\$m->multi_query("SELECT 1; SELECT 2; SELECT 3"); \$got = '';
do { if (\$res = \$m->store_result()) { \$got .= \$res->fetch_row()[0]; \$res->free(); } } while (\$m->more_results() && \$m->next_result());
echo (\$got === '123' ? "ok" : "not ok"), " multi: \$got\\n";
\$bad = \$m->query('SELECT * FROM nosuch');
echo (\$bad === false && \$m->errno == 1146 ? "ok" : "not ok"), " error: ", \$m->errno, "\\n";
\$r = \$m->query("SELECT 'after'")->fetch_row();
echo (\$r[0] === 'after' ? "ok" : "not ok"), " after\\n";
PHP
    $t->script_checks('PHP mysqli compressed', ['php', '-r', substr($php, 6)], [qw(connect status large prepared multi error after)]);
}

# Connector/J with useCompression=true, text and server-side prepares.
my $jar = '/usr/share/java/mariadb-java-client.jar';
SKIP: {
    skip 'no java or Connector/J', 1 unless -r $jar && `sh -c 'command -v java'`;
    my $r = $t->script_checks('Connector/J useCompression',
        ['java', '-cp', $jar, $t->root . '/t/compression/CompressClient.java', $port, $primary->name],
        [ map { ("${_}_status", "${_}_large", "${_}_no_stale_reads", "${_}_error", "${_}_after_error") } qw(text server) ],
        timeout => 180);
    note($_) for grep { /^note / } split /\n/, $r->{out};
}

# ------------------------------------------------------------------ raw frames
# A test client speaking the compressed protocol itself: the answer's first frame is
# numbered one past the command's (the command starts at 0 again each time); then a frame
# that is not deflate data closes the connection, counted and logged.
{
    my $w = Causeway::Wire->new(port => $port);
    ok($w->handshake->{capabilities} & 0x20, 'the greeting offers CLIENT_COMPRESS');
    my $ok = $w->login(user => 'app', password => 'secret', db => 'test', caps_add => 0x20);
    is($ok->{type}, 'ok', 'raw client: logged in asking for compression (the OK is not compressed)');
    my $frame = sub {    # one frame around $plain: deflated when $deflate
        my ($seq, $plain, $deflate) = @_;
        my $body = $deflate ? compress($plain) : $plain;
        return substr(pack('V', length $body), 0, 3) . chr($seq) . substr(pack('V', $deflate ? length $plain : 0), 0, 3) . $body;
    };
    my $eofs = sub {    # EOF packets among the whole plain packets of $plain
        my ($plain, $n) = (shift, 0);
        while (length($plain) >= 4) {
            my $len = unpack('V', substr($plain, 0, 3) . "\0");
            last if length($plain) < 4 + $len;
            $n++ if $len < 9 && substr($plain, 4, 1) eq "\xfe";
            substr($plain, 0, 4 + $len, '');
        }
        return $n;
    };
    my $read_frames = sub {    # a whole result set's plain bytes (up to its second EOF), and the frames' seqs
        my ($plain, @seqs) = ('');
        while ($eofs->($plain) < 2) {
            $w->_fill(7, time + 10) or last;
            my ($len, $seq, $ulen) = (unpack('V', substr($w->{buf}, 0, 3) . "\0"), ord(substr($w->{buf}, 3, 1)),
                                      unpack('V', substr($w->{buf}, 4, 3) . "\0"));
            $w->_fill(7 + $len, time + 10) or last;
            my $body = substr($w->{buf}, 7, $len);
            substr($w->{buf}, 0, 7 + $len, '');
            $plain .= $ulen ? Compress::Zlib::uncompress($body) : $body;
            push @seqs, $seq;
        }
        return ($plain, @seqs);
    };
    for my $round (1 .. 2) {
        # COM_QUERY in a deflated frame (padded past the 50-byte threshold), then a stored one.
        my $sql = "SELECT REPEAT('r', 70000) AS padded_to_be_worth_deflating_$round";
        $w->send_raw($frame->(0, substr(pack('V', 1 + length $sql), 0, 3) . "\0\x03$sql", $round == 1));
        my ($plain, @seqs) = $read_frames->();
        is($seqs[0], 1, "round $round: the answer's first frame is numbered 1");
        is(join(',', @seqs), join(',', 1 .. scalar @seqs), "round $round: its frames are numbered in order");
        ok(index($plain, 'r' x 70000) >= 0, "round $round: the 70,000-byte value inflates whole");
    }
    my $errors = $t->ctl_counters($cw)->{compression_errors} // 0;
    $w->send_raw(substr(pack('V', 16), 0, 3) . "\0" . substr(pack('V', 4000), 0, 3) . ('garbage!' x 2));
    my $p = $w->read_packet(10);
    ok(!defined $p && $w->eof, 'a frame of bad deflate data: the connection is closed');
    is(($t->ctl_counters($cw)->{compression_errors} // 0) - $errors, 1, 'counted in compression_errors');
    like($cw->log_text, qr/bad compressed frame, connection closed: bad deflate data/, 'logged with the reason');
    my $m = $t->run(['curl', '-s', "http://127.0.0.1:$admin_port/metrics"], timeout => 20);
    like($m->{out}, qr/^causeway_compressed_connections_total [1-9]/m, '/metrics counts the compressed connections');
    like($m->{out}, qr/^causeway_compression_errors_total 1$/m, '/metrics counts the compression error');
}

# ------------------------------------------------------------------ bridge mode, and off
{
    my $bridge = $t->causeway(config => { causeway => { mode => 'bridge' } });
    my $r = $t->mariadb(['--skip-ssl', '--compress', '-N', '-e',
                         "SHOW STATUS LIKE 'Compression'; SELECT COUNT(*), SUM(LENGTH(v)) FROM test.c; SELECT name FROM test.marker"],
                        port => $bridge->port);
    my $d = $primary->sql('SELECT COUNT(*), SUM(LENGTH(v)) FROM test.c')->[0];
    is($r->{out}, "Compression\tON\n$d->[0]\t$d->[1]\n" . $primary->name . "\n", 'bridge mode: compressed, everything on the primary')
        or diag($r->{err});
    is($t->ctl_counters($bridge)->{compressed_connections}, 1, 'bridge mode: counted');
    my $off = $t->causeway(config => { causeway => { client_compression => 'off' } });
    my $w = Causeway::Wire->new(port => $off->port);
    ok(!($w->handshake->{capabilities} & 0x20), 'client_compression = off: CLIENT_COMPRESS is not offered');
    $r = $t->mariadb(['--skip-ssl', '--compress', '-N', '-e', "SHOW STATUS LIKE 'Compression'"], port => $off->port);
    is($r->{out}, "Compression\tOFF\n", 'client_compression = off: mariadb --compress gets a plain session, as the server says');
}

$t->done;
