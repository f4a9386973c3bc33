# LOAD DATA LOCAL INFILE through the proxy: the server asks the client for the file (0xFB),
# the client streams it in packets and an empty packet ends it. The mariadb CLI and PyMySQL,
# a few thousand rows, a multi-megabyte file, an empty file, a missing file, a client that
# refuses, and the connection staying usable after each.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha1_hex);
use lib 't/lib';
use Causeway::Test;

my $t = Causeway::Test->new;
my $topo = $t->topology;
my $cw = $t->causeway;
my $pport = $topo->primary->port;
my $dir = $t->dir;

$topo->primary->sql('CREATE TABLE test.ld (id INT PRIMARY KEY, name VARCHAR(64), n BIGINT)');

sub make_csv {
    my ($file, $rows, $from) = @_;
    $from //= 1;
    open my $fh, '>', $file or die $!;
    my ($sum, $names) = (0, '');
    for my $i ($from .. $from + $rows - 1) {
        my $name = "name-$i-" . ('abcdefghij' x ($i % 4));
        my $n = $i * 7919 % 100003;
        print $fh "$i,$name,$n\n";
        $sum += $n;
    }
    close $fh;
    return $sum;
}

sub table_state {
    my ($where) = @_;
    return $topo->primary->dbh->selectrow_arrayref(
        "SELECT COUNT(*), COALESCE(SUM(n), 0) FROM test.ld WHERE $where");
}

my $load = "LOAD DATA LOCAL INFILE '%s' INTO TABLE ld FIELDS TERMINATED BY ',' "
         . "LINES TERMINATED BY '\\n' (id, name, n)";

# mariadb CLI, 5,000 rows.
my $f1 = "$dir/rows5000.csv";
my $sum1 = make_csv($f1, 5000, 1);
my $r = $t->mariadb(['--local-infile=1', '-N', '-B', '-e',
                     sprintf($load, $f1) . '; SELECT ROW_COUNT(); SELECT COUNT(*), SUM(n) FROM ld']);
is($r->{err}, '', 'mariadb CLI: LOAD DATA LOCAL INFILE of 5,000 rows succeeds');
is($r->{out}, "5000\n5000\t$sum1\n", 'mariadb CLI: 5,000 rows loaded, ROW_COUNT and the sum match');
is_deeply(table_state('id <= 5000'), [5000, $sum1], 'the primary holds the 5,000 rows');

# mariadb CLI, 100,000 rows (several megabytes: many packets).
my $f2 = "$dir/rows100k.csv";
my $sum2 = make_csv($f2, 100_000, 10_001);
cmp_ok(-s $f2, '>', 3_000_000, 'the big file is over 3 MB');
$r = $t->mariadb(['--local-infile=1', '-N', '-B', '-e',
                  sprintf($load, $f2) . '; SELECT COUNT(*) FROM ld WHERE id > 10000'], timeout => 120);
is($r->{err}, '', 'mariadb CLI: LOAD DATA LOCAL INFILE of 100,000 rows succeeds');
is($r->{out}, "100000\n", 'mariadb CLI: the statement after the load sees 100,000 rows');
is_deeply(table_state('id > 10000'), [100_000, $sum2], 'the primary holds the 100,000 rows with the right sum');

# An empty file.
my $f0 = "$dir/empty.csv";
spit($f0, '');
$r = $t->mariadb(['--local-infile=1', '-N', '-B', '-e', sprintf($load, $f0) . '; SELECT ROW_COUNT(), 1']);
is($r->{out}, "0\t1\n", 'an empty file loads 0 rows and the session goes on');

# A missing file and a client that does not allow LOCAL: same outcome as straight to the
# primary, and the session stays usable (--force runs the next statements).
for my $case (['missing file', '--local-infile=1', "$dir/nosuch.csv"],
              ['LOCAL refused by the client', '--local-infile=0', $f1]) {
    my ($what, $opt, $file) = @$case;
    my $script = sprintf($load, $file) . ";\nSELECT 'after';\n";
    my $via = $t->mariadb(['--force', $opt, '-N', '-B'], stdin => $script);
    my $direct = $t->mariadb(['--force', $opt, '-N', '-B'], stdin => $script, port => $pport);
    like($via->{err}, qr/^ERROR \d+/m, "$what: the client reports an error");
    is($via->{err}, $direct->{err}, "$what: the same error as straight to the primary");
    is($via->{out}, "after\n", "$what: the next statement on the connection works");
}
is_deeply(table_state('1 = 1'), [105_000, $sum1 + $sum2], 'nothing more was loaded by the failed attempts');

# PyMySQL with local_infile=True.
my $python = Causeway::Test::python();
SKIP: {
    skip('no python3 with PyMySQL', 3) unless $python;
    my $f3 = "$dir/rows3000.csv";
    my $sum3 = make_csv($f3, 3000, 200_001);
    my $py = <<'PY';
import sys, pymysql
port, path = int(sys.argv[1]), sys.argv[2]
c = pymysql.connect(host='127.0.0.1', port=port, user='app', password='secret', database='test',
                    local_infile=True, autocommit=True, connect_timeout=10, read_timeout=60)
cur = c.cursor()
n = cur.execute("LOAD DATA LOCAL INFILE %s INTO TABLE ld FIELDS TERMINATED BY ',' "
                "LINES TERMINATED BY '\\n' (id, name, n)", (path,))
print('loaded', n)
cur.execute('SELECT COUNT(*), SUM(n) FROM ld WHERE id > 200000')
print('table', *cur.fetchone())
PY
    spit("$dir/load.py", $py);
    $r = $t->run([$python, "$dir/load.py", $cw->port, $f3]);
    is($r->{exit}, 0, 'PyMySQL: LOAD DATA LOCAL INFILE runs') or diag($r->{err});
    like($r->{out}, qr/^loaded 3000$/m, 'PyMySQL: the load reports 3,000 rows');
    like($r->{out}, qr/^table 3000 $sum3$/m, 'PyMySQL: 3,000 rows with the right sum');
}

$topo->wait_for_replicas(30);
is($topo->replica(0)->value('SELECT COUNT(*) FROM test.ld'), $python ? 108_000 : 105_000,
   'the loaded rows replicate');

$t->done;
