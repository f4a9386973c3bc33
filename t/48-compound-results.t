# Compound statements that return result sets from inside a loop or while a cursor is open
# (make compat B6: mtr main.ctype_ucs2_uca, main.ctype_utf8_uca, main.sp-expr). While a stored
# program's cursor is open the server sets SERVER_STATUS_CURSOR_EXISTS in the EOF after each
# result set's columns; Causeway took that for a COM_STMT_EXECUTE cursor (no rows follow), so the
# rows were "unexpected bytes" and the client got 2013. The mariadb CLI (classic EOFs) and
# DBD::MariaDB, through Causeway in bridge and smartscale modes, must show what they show directly.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;

my $t = Causeway::Test->new;
$t->need_proxy('compares a proxy with the server');
my $topo = $t->topology;
my $primary = $topo->primary;
$primary->sql($_) for (
    'CREATE TABLE test.t1 (a INT) ENGINE=InnoDB',
    'INSERT INTO test.t1 VALUES (1), (2), (3)',
    "CREATE PROCEDURE test.cursor_results() BEGIN DECLARE va INT; DECLARE cur CURSOR FOR SELECT a FROM t1 ORDER BY a; "
        . "OPEN cur; FETCH cur INTO va; SELECT va; SELECT va + 1 AS vb; CLOSE cur; END",
);
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');
my %port = (direct => $primary->port);
for my $mode (qw(bridge smartscale)) {
    my $cw = $t->causeway(config => { causeway => { mode => $mode, session_id => 'CONNECTION' } });
    $port{$mode} = $cw->port;
}

# The statements of the three mtr tests, reduced; each returns several result sets.
my @statements = (
    "FOR rec IN (SELECT COLLATION_NAME FROM INFORMATION_SCHEMA.COLLATION_CHARACTER_SET_APPLICABILITY "
        . "WHERE CHARACTER_SET_NAME='ucs2' AND COLLATION_NAME LIKE 'ucs2_%' ORDER BY ID LIMIT 3) "
        . "DO SET NAMES utf8mb4; SET character_set_results=NULL; "
        . "EXECUTE IMMEDIATE CONCAT('SELECT CONVERT(''a'' USING ucs2) COLLATE ', rec.COLLATION_NAME, ' AS c'); END FOR",
    "BEGIN NOT ATOMIC DECLARE va INT; DECLARE cur CURSOR(amin INT) FOR SELECT a FROM t1 WHERE a>amin ORDER BY a; "
        . "OPEN cur(1 IN (SELECT * FROM t1)); FETCH cur INTO va; SELECT va; CLOSE cur; END",
    "CALL cursor_results()",
);
my $script = join('', "delimiter //\n", map({ "$_//\nSELECT 'next' AS after_it//\n" } @statements));

my %cli;
for my $how (sort keys %port) {
    $cli{$how} = $t->mariadb(['--batch', '--column-names'], port => $port{$how}, stdin => $script, timeout => 30);
}
is($cli{direct}{exit}, 0, 'directly: the mariadb CLI runs the compound statements') or diag($cli{direct}{err});
like($cli{direct}{out}, qr/^va\n2\n(?s:.*)^va\n1\nvb\n2\n/m, 'directly: the cursor bodies return their rows');
for my $mode (qw(bridge smartscale)) {
    is($cli{$mode}{exit}, 0, "$mode: the mariadb CLI runs them through Causeway (no 2013)") or diag($cli{$mode}{err});
    is($cli{$mode}{out}, $cli{direct}{out}, "$mode: the same output as directly");
}

# DBD::MariaDB reads every result set of each statement (more_results).
sub result_sets {
    my ($port, $sql) = @_;
    my $dbh = $t->connect(port => $port, read_timeout => 10) or return "connect: $DBI::errstr";
    my $sth = $dbh->prepare($sql);
    $sth->execute or return 'error ' . $dbh->err . ' ' . $dbh->errstr;
    my @sets;
    do {
        push @sets, join(';', map { join(',', map { $_ // 'NULL' } @$_) } @{ $sth->fetchall_arrayref // [] });
    } while ($sth->more_results);
    return 'error ' . $dbh->err . ' ' . $dbh->errstr if $dbh->err;
    my $after = $dbh->selectrow_array('SELECT 42');
    return join(' | ', @sets) . " then $after";
}
for my $i (0 .. $#statements) {
    my $direct = result_sets($port{direct}, $statements[$i]);
    unlike($direct, qr/^error|^connect/, "DBD::MariaDB directly, statement $i: $direct");
    for my $mode (qw(bridge smartscale)) {
        is(result_sets($port{$mode}, $statements[$i]), $direct, "DBD::MariaDB through Causeway ($mode), statement $i");
    }
}

$t->done;
