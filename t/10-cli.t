# The mariadb CLI and mariadb-admin through the proxy: queries, multi-statements, USE and a
# default database, server errors passed through unchanged (code, SQLSTATE, message, compared
# with the same statements run straight against the primary), COM_STATISTICS and COM_PING.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;

my $t = Causeway::Test->new;
my $topo = $t->topology;
my $cw = $t->causeway;
my $pport = $topo->primary->port;

sub cli { my ($sql, %o) = @_; return $t->mariadb(['-N', '-B', '-e', $sql], %o) }

my $r = cli('select 1');
is($r->{out}, "1\n", 'select 1 returns 1') or diag($r->{err});
is($r->{exit}, 0, 'select 1 exits 0');

$r = cli('select 1; select 2');
is($r->{out}, "1\n2\n", 'multi-statement -e "select 1; select 2" returns both results')
   or diag("stderr: $r->{err}");

$r = cli("select 'a' as x union all select 'b'; select 3, null, 'caf\xc3\xa9'");
is($r->{out}, "a\nb\n3\tNULL\tcaf\xc3\xa9\n", 'several result sets with NULL and non-ASCII text')
   or diag("stderr: $r->{err}");

$r = cli('select database()');
is($r->{out}, "test\n", 'connecting with a default database (CLIENT_CONNECT_WITH_DB)')
   or diag("stderr: $r->{err}");
$r = cli('select database()', db => undef);
is($r->{out}, "NULL\n", 'connecting without a database')
   or diag("stderr: $r->{err}");
$r = cli('use mysql; select database(); use test; select database()');
is($r->{out}, "mysql\ntest\n", 'USE switches the database (COM_INIT_DB)')
   or diag("stderr: $r->{err}");
$r = $t->mariadb(['-N', '-B', '-D', 'mysql', '-e', 'select database()'], db => undef);
is($r->{out}, "mysql\n", '-D mysql sets the default database')
   or diag("stderr: $r->{err}");

$r = cli('select connection_id() = connection_id(); set @a = 41; select @a + 1');
is($r->{out}, "1\n42\n", 'session variables persist within a session')
   or diag("stderr: $r->{err}");

$r = cli("create table t (id int primary key auto_increment, v varchar(100) charset utf8mb4, n int);
  insert into t (v, n) values ('x', 1), (repeat('y', 100), null), ('\xe2\x98\xba', 3);
  select id, v, n from t order by id; select row_count(); select count(*) from t");
is($r->{out}, "1\tx\t1\n2\t" . ('y' x 100) . "\tNULL\n3\t\xe2\x98\xba\t3\n-1\n3\n",
   'CREATE, INSERT and SELECT round-trip')
   or diag("stderr: $r->{err}");
$r = cli("update t set n = n + 1 where n is not null; select row_count()");
is($r->{out}, "2\n", 'UPDATE reports its affected rows')
   or diag("stderr: $r->{err}");

$r = cli("prepare s from 'select ? + 1'; set \@x = 41; execute s using \@x; deallocate prepare s");
is($r->{out}, "42\n", 'PREPARE / EXECUTE in SQL')
   or diag("stderr: $r->{err}");

$r = cli('select seq from seq_1_to_20000');
my @lines = split /\n/, $r->{out};
is(scalar @lines, 20000, '20,000-row result set arrives whole');
is($lines[-1], '20000', '... ending with its last row');

$r = cli('create temporary table tt (a int); insert into tt values (7); select a from tt');
is($r->{out}, "7\n", 'temporary tables work within a session')
   or diag("stderr: $r->{err}");

$r = cli('start transaction; insert into t (v) values (\'tx\'); rollback; select count(*) from t where v = \'tx\'');
is($r->{out}, "0\n", 'ROLLBACK undoes the insert')
   or diag("stderr: $r->{err}");
$r = cli('begin; insert into t (v) values (\'tx\'); commit; select count(*) from t where v = \'tx\'');
is($r->{out}, "1\n", 'COMMIT keeps the insert')
   or diag("stderr: $r->{err}");

# Errors: the same statements through the proxy and straight to the primary must give the
# same exit code, stdout and stderr (code, SQLSTATE and message).
my @bad = (
    ['select * from nosuch',                qr/^ERROR 1146 \(42S02\) at line 1: Table 'test.nosuch' doesn't exist$/m],
    ['selec 1',                             qr/^ERROR 1064 \(42000\) at line 1: You have an error in your SQL syntax.*near 'selec 1' at line 1$/m],
    ['select nosuchcol from t',             qr/^ERROR 1054 \(42S22\) at line 1: Unknown column 'nosuchcol' in '(?:field list|SELECT)'$/m],
    ['insert into t (id, v) values (1, 1)', qr/^ERROR 1062 \(23000\) at line 1: Duplicate entry '1' for key 'PRIMARY'$/m],
    ['use nosuchdb',                        qr/^ERROR 1049 \(42000\) at line 1: Unknown database 'nosuchdb'$/m],
    ["signal sqlstate '45000' set message_text = 'custom failure', mysql_errno = 1644",
                                            qr/^ERROR 1644 \(45000\) at line 1: custom failure$/m],
    ['select 1; select * from nosuch; select 3', qr/^ERROR 1146 \(42S02\) at line 1: Table 'test.nosuch' doesn't exist$/m],
    ['drop table nosuch',                   qr/^ERROR 1051 \(42S02\) at line 1: Unknown table 'test.nosuch'$/m],
);
for my $b (@bad) {
    my ($sql, $re) = @$b;
    my $via = cli($sql);
    my $direct = cli($sql, port => $pport);
    like($via->{err}, $re, "error for '$sql' has the server's code, SQLSTATE and message");
    is($via->{err}, $direct->{err}, "error for '$sql' matches the primary's, byte for byte");
    is($via->{out}, $direct->{out}, "output before the error of '$sql' matches the primary's");
    is($via->{exit}, 1, "'$sql' exits 1");
}
$r = cli('select 1; select * from nosuch; select 3');
is($r->{out}, "1\n", 'multi-statement stops at the failing statement')
   or diag("stderr: $r->{err}");

my $script = "select 'a';\nselect * from nosuch;\nselect 'b';\nselec;\nselect 'c';\n";
my $via = $t->mariadb(['-N', '-B', '--force'], stdin => $script);
my $direct = $t->mariadb(['-N', '-B', '--force'], stdin => $script, port => $pport);
is($via->{out}, "a\nb\nc\n", '--force script: every good statement runs after errors');
is($via->{err}, $direct->{err}, '--force script: errors match the primary\'s');

$r = cli('select 1/0; show warnings');
like($r->{out}, qr/^NULL\nWarning\t1365\tDivision by 0\n$/, 'warnings come back with SHOW WARNINGS')
   or diag("stderr: $r->{err}");

$r = cli('select 1; select 2', db => 'nosuchdb');
like($r->{err}, qr/^ERROR 1049 \(42000\): Unknown database 'nosuchdb'$/,
     'connecting with an unknown default database gives ERR 1049');

# The CLI's status command uses COM_STATISTICS for its Uptime line.
$r = $t->mariadb(['-e', 'status']);
like($r->{out}, qr/^Uptime:\s+\d+/m, 'mariadb "status" shows the server\'s Uptime (COM_STATISTICS)')
   or diag("stderr: $r->{err}");
like($r->{out}, qr/^Current database:\s+test$/m, 'mariadb "status" shows the current database')
   or diag("stderr: $r->{err}");

SKIP: {
    my $strings = `strings \$(command -v mariadb) 2>/dev/null`;
    skip('this mariadb CLI has no resetconnection command (COM_RESET_CONNECTION is tested '
         . 'with the raw client in t/16-failures.t)', 1) unless $strings =~ /resetconnection/;
    $r = $t->mariadb(['-N', '-B'], stdin => "set \@a = 5;\nresetconnection;\nselect \@a is null;\n");
    is($r->{out}, "1\n", 'resetconnection clears session variables');
}

# mariadb-admin: COM_STATISTICS, COM_PING, and a few query-based commands.
sub admin {
    my (@cmd) = @_;
    return $t->run(['mariadb-admin', '--no-defaults', '-h127.0.0.1', '-P' . $cw->port, '-uapp',
                    '-psecret', '--connect-timeout=10', @cmd]);
}
$r = admin('status');
like($r->{out}, qr/^Uptime: \d+\s+Threads: \d+\s+Questions: \d+\s+Slow queries: \d+\s+Opens: \d+.*Queries per second avg: [\d.]+\s*$/,
     'mariadb-admin status (COM_STATISTICS)') or diag($r->{err});
is($r->{exit}, 0, 'mariadb-admin status exits 0');
$r = admin('ping');
is($r->{out}, "mysqld is alive\n", 'mariadb-admin ping (COM_PING)') or diag($r->{err});
is($r->{exit}, 0, 'mariadb-admin ping exits 0');
$r = admin('version');
like($r->{out}, qr/^Server version\s+\S+/m, 'mariadb-admin version')
   or diag("stderr: $r->{err}");
like($r->{out}, qr/^Uptime:/m, 'mariadb-admin version shows the uptime')
   or diag("stderr: $r->{err}");
$r = admin('processlist');
like($r->{out}, qr/\|\s*app\s*\|/, 'mariadb-admin processlist lists the app user')
   or diag("stderr: $r->{err}");
$r = admin('ping', 'ping', 'status');
is(scalar(() = $r->{out} =~ /mysqld is alive/g), 2, 'several admin commands on one connection');
$r = $t->run(['mariadb-admin', '--no-defaults', '-h127.0.0.1', '-P' . $cw->port, '-uapp',
              '-pwrong', '--connect-timeout=10', 'status']);
isnt($r->{exit}, 0, 'mariadb-admin with a wrong password fails');
like($r->{err}, qr/Access denied for user 'app'\@'127.0.0.1' \(using password: YES\)/,
     'mariadb-admin with a wrong password gets Access denied');

# A client that quits with COM_QUIT must not leave an aborted connection on the server
# ("Aborted connection ... Got an error reading communication packets", Aborted_clients):
# the proxy quits its backend connection cleanly too (or keeps it pooled).
{
    my $aborted = sub { $topo->primary->dbh->selectrow_hashref("SHOW GLOBAL STATUS LIKE 'Aborted_clients'")->{Value} };
    my $before = $aborted->();
    $r = cli('select 1') for 1 .. 5;
    my $after;
    wait_until(sub { $after = $aborted->(); $after != $before }, timeout => 1);
    is($after - $before, 0, '5 CLI sessions that quit leave no aborted connection on the primary (Aborted_clients)');
}

$t->done;
