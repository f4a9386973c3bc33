# sysbench oltp_read_write through the proxy: server-side prepared statements (sysbench's
# default), 4 threads for ~10 s, zero errors and zero reconnects, then cleanup.
# InnoDB deadlocks (ERR 1213) are part of this workload on MariaDB itself (20-30 per 10 s run
# here with CAUSEWAY_TEST_DIRECT=1), so sysbench may ignore 1213 and only 1213: any other
# error is fatal (non-zero exit), and the deadlock count must stay a small fraction.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;

my $t = Causeway::Test->new;
plan skip_all => 'sysbench is not installed' unless system('command -v sysbench >/dev/null') == 0;
my $topo = $t->topology;
my $cw = $t->causeway;

my @common = ('sysbench', 'oltp_read_write', '--db-driver=mysql', '--mysql-host=127.0.0.1',
              '--mysql-port=' . $cw->port, '--mysql-user=app', '--mysql-password=secret',
              '--mysql-db=test', '--tables=2', '--table-size=1000');

my $r = $t->run([@common, '--threads=2', 'prepare'], timeout => 120);
is($r->{exit}, 0, 'sysbench prepare exits 0') or diag("$r->{out}\n$r->{err}");
my $rows = eval { $topo->primary->value('SELECT (SELECT COUNT(*) FROM test.sbtest1) + (SELECT COUNT(*) FROM test.sbtest2)') };
is($rows, 2000, 'prepare created 2 tables of 1,000 rows') or diag($@);

my $before = $topo->primary->dbh->selectrow_hashref("SHOW GLOBAL STATUS LIKE 'Com_stmt_prepare'")->{Value};
$r = $t->run([@common, '--threads=4', '--time=10', '--report-interval=0', '--db-ps-mode=auto',
              '--mysql-ignore-errors=1213', 'run'], timeout => 90);
is($r->{exit}, 0, 'sysbench run exits 0') or diag("$r->{out}\n$r->{err}");
my $out = $r->{out};
my ($tx) = $out =~ /transactions:\s+(\d+)/;
my ($errors) = $out =~ /ignored errors:\s+(\d+)/;
my ($reconnects) = $out =~ /reconnects:\s+(\d+)/;
my ($queries) = $out =~ /^\s+total:\s+(\d+)/m;
cmp_ok($tx // 0, '>', 100, 'sysbench ran more than 100 transactions') or diag($out);
ok(defined $errors, 'sysbench reports its error count');
cmp_ok($errors // 1e9, '<=', 0.02 * ($tx // 0),
       'sysbench reports no errors but InnoDB deadlocks (ERR 1213), under 2% of transactions');
is($reconnects, 0, 'sysbench reports 0 reconnects');
unlike($r->{err}, qr/FATAL|error/i, 'sysbench printed no error') or diag($r->{err});
note(sprintf('sysbench: %s transactions, %s queries in 10 s', $tx // '?', $queries // '?'));
my $after = $topo->primary->dbh->selectrow_hashref("SHOW GLOBAL STATUS LIKE 'Com_stmt_prepare'")->{Value};
cmp_ok($after - $before, '>=', 4, 'the run used server-side prepared statements');

$r = $t->run([@common, 'cleanup'], timeout => 60);
is($r->{exit}, 0, 'sysbench cleanup exits 0') or diag("$r->{out}\n$r->{err}");
is($topo->primary->value("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'test' AND table_name LIKE 'sbtest%'"),
   0, 'cleanup dropped the tables');

$t->done;
