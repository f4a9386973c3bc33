# One-shot prepared statements (issue 7 item 5): Go's database/sql, PDO native and JDBC
# without a statement cache prepare, execute once and close every parameterised query. A
# read-only statement is prepared where the read runs, so that such a workload costs the
# primary no COM_STMT_PREPARE and no COM_STMT_CLOSE (its Com_stmt_* counters measured
# before and after). Statements prepared on a replica still work everywhere else: executed
# in a transaction (the primary prepares it lazily), with long data, reset, re-executed
# after a write (primary fallback), closed, and an unknown statement id gets the server's
# ERR 1243, compared with the same PHP mysqli script run directly.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;
use Causeway::Util qw(wait_until spit);
use JSON::PP ();
use Causeway::Wire;

my $t = Causeway::Test->new;
$t->need_proxy('counts what the primary runs behind a proxy');
my $topo = $t->topology;
my $primary = $topo->primary;
my %is_replica = map { $_->name => 1 } $topo->replicas;
$primary->sql($_) for ('CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL, b BLOB)',
                       'INSERT INTO test.t SELECT seq, seq * 10, NULL FROM test.seq_1_to_100');
$topo->add_markers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');
my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', session_id => 'CONNECTION' } });

sub primary_counts {
    my %c = map { @$_ } @{ $primary->sql("SHOW GLOBAL STATUS WHERE Variable_name IN "
                                         . "('Com_stmt_prepare', 'Com_stmt_close', 'Com_stmt_execute')") };
    return \%c;
}

my $dbh = $t->connect(port => $cw->port, attr => { mariadb_server_prepare => 1 });
ok(wait_until(sub { my ($n) = $dbh->selectrow_array('SELECT name FROM marker'); $is_replica{ $n // '' } },
              timeout => 10, interval => 0.05), 'a plain read is answered by a replica');
my $before = primary_counts();
my ($bad, %by) = (0);
for my $i (1 .. 200) {
    my $id = 1 + $i % 100;
    my $sth = $dbh->prepare('SELECT t.v, m.name FROM t JOIN marker m WHERE t.id = ?');
    $sth->execute($id);
    my $row = $sth->fetchrow_arrayref;
    $bad++ unless $row && $row->[0] == $id * 10;
    $by{ $row ? $row->[1] : 'ERR' }++;
    $sth->finish;
    undef $sth;    # COM_STMT_CLOSE
}
my $after = primary_counts();
is($bad, 0, '200 one-shot prepared reads (DBD::MariaDB server prepares) return the right rows');
my $on = 0;
$on += $by{$_} // 0 for keys %is_replica;
cmp_ok($on, '>=', 190, "... answered by replicas ($on of 200)");
my %delta = map { $_ => $after->{$_} - $before->{$_} } keys %$after;
note(explain \%delta);
cmp_ok($delta{Com_stmt_prepare}, '<=', 5, "the primary prepared almost nothing ($delta{Com_stmt_prepare} for 200 reads)");
cmp_ok($delta{Com_stmt_close}, '<=', 5, "and closed almost nothing ($delta{Com_stmt_close})");
$dbh->disconnect;

my $php = <<'PHP';
<?php
$port = (int)$argv[1];
mysqli_report(MYSQLI_REPORT_OFF);
$m = new mysqli('127.0.0.1', 'app', 'secret', 'test', $port);
$out = [];
$st = $m->prepare('SELECT v FROM t WHERE id = ?');
$id = 5;
$st->bind_param('i', $id);
$st->execute();
$out['read'] = $st->get_result()->fetch_row();
$m->begin_transaction();
$st->execute();
$out['in_transaction'] = $st->get_result()->fetch_row();
$m->query('UPDATE t SET v = v + 1 WHERE id = 5');
$st->execute();
$out['after_write_in_transaction'] = $st->get_result()->fetch_row();
$m->commit();
$st->execute();
$out['after_commit'] = $st->get_result()->fetch_row();
$st->reset();
$id = 6;
$st->execute();
$out['after_reset'] = $st->get_result()->fetch_row();
$st->close();
$lb = $m->prepare('SELECT LENGTH(?), MD5(?)');
$null = null;
$lb->bind_param('bb', $null, $null);
$lb->send_long_data(0, str_repeat('x', 100000));
$lb->send_long_data(1, 'abc');
$lb->execute();
$out['long_data'] = $lb->get_result()->fetch_row();
$lb->close();
$r = @$m->query('SELECT 1');
$out['after_close'] = $r ? $r->fetch_row() : ['ERR ' . $m->errno];
echo json_encode($out), "\n";
PHP
my $php_file = $t->dir . '/one-shot.php';
spit($php_file, $php);
my %out;
for my $how (qw(causeway direct)) {
    $primary->sql('UPDATE test.t SET v = 50 WHERE id = 5');
    $topo->wait_for_replicas(10);
    my $r = $t->run([ 'php', $php_file, $how eq 'direct' ? $primary->port : $cw->port ], timeout => 60);
    is($r->{exit}, 0, "$how: mysqli script exits 0") or diag($r->{err});
    $out{$how} = eval { JSON::PP::decode_json($r->{out}) } // { raw => $r->{out} };
}
is_deeply($out{causeway}, $out{direct}, 'mysqli: a statement prepared on a replica behaves as on the server '
          . '(transaction, write, commit, reset, long data, close)') or diag(explain \%out);
is_deeply($out{causeway}{after_write_in_transaction}, [51], '... and sees the transaction\'s own write');

# An unknown statement id gets the server's error (raw client).
for my $how (qw(causeway direct)) {
    my $w = Causeway::Wire->new(port => $how eq 'direct' ? $primary->port : $cw->port, timeout => 10);
    $w->login(user => 'app', password => 'secret', db => 'test');
    $w->command(0x17, pack('VCV', 4242, 0, 1));
    my ($r) = $w->read_all(10);
    $out{unknown}{$how} = join ' ', map { $_ // '' } @$r{qw(type code state message)};
    $w->close;
}
like($out{unknown}{direct}, qr/^err 1243 HY000 /, "directly: $out{unknown}{direct}");
is($out{unknown}{causeway}, $out{unknown}{direct}, 'through Causeway: the same ERR for an unknown statement');

$t->done;
