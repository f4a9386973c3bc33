# Packets over 16 MiB through the proxy, both ways: a 20 MiB LONGBLOB inserted and read back
# with the text protocol and with server-side prepared statements, a server-generated 20 MiB
# value, and payloads of exactly 0xFFFFFF bytes (which need an empty trailing packet).
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha1_hex);
use lib 't/lib';
use Causeway::Test;

my $t = Causeway::Test->new;
my $topo = $t->topology;
my $cw = $t->causeway;

$topo->primary->sql('CREATE TABLE test.big (id INT PRIMARY KEY, b LONGBLOB)');

my $MiB = 1024 * 1024;
# 20 MiB of pseudo-random bytes (every byte value, so escaping matters).
my $blob = '';
{
    my $seed = 12345;
    my $chunk = '';
    for (1 .. 65536) { $seed = ($seed * 1103515245 + 12345) & 0x7fffffff; $chunk .= chr(($seed >> 16) & 0xff) }
    $blob = $chunk x 320;
    substr($blob, $_ * 65536, 1, chr($_ & 0xff)) for 0 .. 319;    # make the copies differ
}
is(length $blob, 20 * $MiB, 'test blob is 20 MiB');
my $sha = sha1_hex($blob);

# Text protocol: the INSERT is one COM_QUERY of ~20 MiB, the SELECT one row of ~20 MiB.
my $text = $t->connect(read_timeout => 120);
ok($text, 'connect (text protocol)') or diag($DBI::errstr);
my $ins = $text->prepare('INSERT INTO big (id, b) VALUES (1, ?)');
$ins->bind_param(1, $blob, DBI::SQL_BLOB);
ok($ins->execute, 'text protocol: INSERT of a 20 MiB LONGBLOB') or diag($text->errstr);
my ($len, $ssha) = $text->selectrow_array('SELECT LENGTH(b), SHA1(b) FROM big WHERE id = 1');
is($len, 20 * $MiB, 'the server stored 20 MiB');
is($ssha, $sha, 'the server\'s SHA1 of the stored blob matches');
my ($back) = $text->selectrow_array('SELECT b FROM big WHERE id = 1');
is(length($back // ''), 20 * $MiB, 'text protocol: SELECT returns 20 MiB');
is(sha1_hex($back // ''), $sha, 'text protocol: the returned blob has the same SHA1');
undef $back;

# Server-side prepared statements: COM_STMT_EXECUTE over 16 MiB and a binary-protocol row.
my $ps = $t->connect(read_timeout => 120, dsn => 'mariadb_server_prepare=1');
ok($ps, 'connect (server-side prepares)') or diag($DBI::errstr);
$ins = $ps->prepare('INSERT INTO big (id, b) VALUES (2, ?)');
$ins->bind_param(1, scalar reverse($blob), DBI::SQL_BLOB);
ok($ins->execute, 'prepared: INSERT of a 20 MiB LONGBLOB') or diag($ps->errstr);
($len, $ssha) = $ps->selectrow_array('SELECT LENGTH(b), SHA1(b) FROM big WHERE id = ?', undef, 2);
is($len, 20 * $MiB, 'prepared: the server stored 20 MiB');
is($ssha, sha1_hex(scalar reverse $blob), 'prepared: the server\'s SHA1 matches');
my $sel = $ps->prepare('SELECT b FROM big WHERE id = ?');
$sel->execute(1);
($back) = $sel->fetchrow_array;
$sel->finish;
is(length($back // ''), 20 * $MiB, 'prepared: SELECT returns 20 MiB (binary protocol)');
is(sha1_hex($back // ''), $sha, 'prepared: the returned blob has the same SHA1');
undef $back;

# A value made by the server.
($back) = $text->selectrow_array("SELECT REPEAT('ab', 10 * 1024 * 1024)");
is(length($back // ''), 20 * $MiB, 'a 20 MiB value computed by the server arrives whole');
ok(($back // '') eq 'ab' x (10 * $MiB), '... with the right content');
undef $back;

# Exactly 0xFFFFFF-byte payloads. A row of one 16777211-byte string is 4 bytes of length
# prefix + data = 0xFFFFFF, so the server sends an empty packet after it.
($back) = $text->selectrow_array("SELECT REPEAT('y', 16777211)");
is(length($back // ''), 16777211, 'a row packet of exactly 0xFFFFFF bytes (then an empty packet) arrives');
is($text->selectrow_array('SELECT 1'), 1, 'the connection works after it');
undef $back;
# A COM_QUERY of exactly 0xFFFFFF bytes: 1 command byte + 16777214 bytes of SQL.
my $head = "SELECT LENGTH('";
my $tail = "')";
my $n = 16777214 - length($head) - length($tail);
my $got = $text->selectrow_array($head . ('z' x $n) . $tail);
is($got, $n, 'a COM_QUERY of exactly 0xFFFFFF bytes (then an empty packet) is understood');
is($text->selectrow_array('SELECT 2'), 2, 'the connection works after it');

# The mariadb CLI too.
my $r = $t->mariadb(['--max-allowed-packet=64M', '-N', '-B', '-e',
                     'SELECT LENGTH(b), SHA1(b) FROM big WHERE id = 1; SELECT LENGTH(b) FROM big WHERE id = 2'],
                    timeout => 120);
is($r->{out}, sprintf("%d\t%s\n%d\n", 20 * $MiB, $sha, 20 * $MiB), 'mariadb CLI reads the blobs\' length and hash');
$r = $t->run(['sh', '-c', sprintf('mariadb --no-defaults -h127.0.0.1 -P%d -uapp -psecret '
    . '--max-allowed-packet=64M -N -B -r -e "SELECT b FROM big WHERE id = 1" test | head -c -1 | sha1sum',
    $cw->port)], timeout => 120);
like($r->{out}, qr/^$sha\s/, 'mariadb CLI streams the 20 MiB blob with the same SHA1');

$t->done;
