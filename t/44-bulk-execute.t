# COM_STMT_BULK_EXECUTE (issue 7 item 3: Node mariadb's batch(), Connector/J's batch with
# useBulkStmts). Causeway announces MariaDB's extended capability STMT_BULK_OPERATIONS as the
# server does, relays the command to the primary and its OK (affected rows of every row) or
# ERR as they are, and records the write's position: with lagging replicas the rows read
# back at once. Byte-level client (Causeway::Wire), compared with the same exchange direct.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;
use Causeway::Util qw(wait_until);
use Causeway::Wire;

use constant { STMT_BULK_OPERATIONS => 4, COM_STMT_PREPARE => 0x16, COM_STMT_BULK_EXECUTE => 0xfa,
               SEND_TYPES_TO_SERVER => 128, TYPE_LONG => 3, TYPE_VAR_STRING => 253 };

my $t = Causeway::Test->new;
$t->need_proxy('compares a proxy with the server');
my $topo = $t->topology;
my $primary = $topo->primary;
my @replicas = $topo->replicas;
$primary->sql('CREATE TABLE test.b (id INT PRIMARY KEY, s VARCHAR(20) NOT NULL)');
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');
my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', session_id => 'CONNECTION' } });
my %port = (direct => $primary->port, causeway => $cw->port);

sub session {
    my ($how) = @_;
    my $w = Causeway::Wire->new(port => $port{$how}, timeout => 10);
    my $l = $w->login(user => 'app', password => 'secret', db => 'test', mariadb_caps => STMT_BULK_OPERATIONS);
    return ($w, $l);
}
# COM_STMT_PREPARE: the statement id (the answer's definitions are read and dropped).
sub prepare {
    my ($w, $sql) = @_;
    $w->command(COM_STMT_PREPARE, $sql);
    my $ok = $w->read_packet(10) // return;
    return if ord($ok) != 0;
    my ($id, $cols, $params) = unpack('Vvv', substr($ok, 1, 8));
    for my $n ($params, $cols) {
        next unless $n;
        $w->read_packet(10) for 1 .. $n;
        $w->read_packet(10);    # EOF (no DEPRECATE_EOF here)
    }
    return $id;
}
# Rows of (int, string) in one COM_STMT_BULK_EXECUTE with types.
sub bulk {
    my ($w, $id, @rows) = @_;
    my $p = pack('Vv', $id, SEND_TYPES_TO_SERVER) . pack('CC', TYPE_LONG, 0) . pack('CC', TYPE_VAR_STRING, 0);
    $p .= pack('C', 0) . pack('l<', $_->[0]) . pack('C', 0) . Causeway::Wire::lenenc(length $_->[1]) . $_->[1] for @rows;
    $w->command(COM_STMT_BULK_EXECUTE, $p);
    my ($r) = $w->read_all(10);
    return $r;
}

my %got;
for my $how (qw(direct causeway)) {
    my ($w, $l) = session($how);
    is($l->{type}, 'ok', "$how: logs in announcing STMT_BULK_OPERATIONS");
    $got{$how}{announced} = ($w->handshake->{mariadb_caps} // 0) & STMT_BULK_OPERATIONS;
    my $id = prepare($w, 'INSERT INTO b (id, s) VALUES (?, ?)');
    ok($id, "$how: prepares the INSERT");
    my $base = $how eq 'direct' ? 0 : 100;
    $_->stop_sql_thread for @replicas;
    my $r = bulk($w, $id, map { [ $base + $_, "row $_ \xc3\xa9" ] } 1 .. 3);
    $got{$how}{insert} = join ' ', map { $_ // '' } @$r{qw(type affected code)};
    my ($n) = $w->query("SELECT COUNT(*) FROM b WHERE id BETWEEN $base + 1 AND $base + 3", 10);
    $got{$how}{read_back} = $n->{rows}[0][0];
    $_->start_sql_thread for @replicas;
    $r = bulk($w, $id, [ $base + 1, 'duplicate' ]);
    $got{$how}{duplicate} = join ' ', map { $_ // '' } @$r{qw(type code state)};
    my ($after) = $w->query('SELECT 1', 10);
    $got{$how}{after_error} = $after->{rows}[0][0];
    $w->close;
}
ok($got{direct}{announced}, 'the server announces STMT_BULK_OPERATIONS');
is_deeply($got{causeway}, $got{direct}, 'through Causeway: the same capability, OK, read-back and ERR as directly')
    or diag(explain \%got);
is($got{causeway}{insert}, 'ok 3 ', 'a bulk of 3 rows reports 3 affected rows');
is($got{causeway}{read_back}, 3, 'its rows read back at once with lagging replicas (the position was recorded)');
like($got{causeway}{duplicate}, qr/^err 1062 23000/, 'a duplicate key in a bulk is the server\'s ERR 1062');

# A bulk naming a statement the primary knows under another id, or does not know: the client's
# last prepare (id -1) and a read prepared on a replica, which gets an id of Causeway's. The
# primary must run the statement the client named, as the server itself would (Causeway
# relayed the id as it was: -1 ran the primary's last prepare, the INSERT, and the read's id
# was unknown there).
my %named;
ok($topo->wait_for_replicas(30), 'replicas caught up (the read is prepared on one)');
for my $how (qw(direct causeway)) {
    my ($w) = session($how);
    my $base = $how eq 'direct' ? 200 : 300;
    my $insert = prepare($w, 'INSERT INTO b (id, s) VALUES (?, ?)');
    my $read = prepare($w, 'SELECT s FROM b WHERE id = ? AND s = ?');
    ok($insert && $read, "$how: prepares an INSERT, then a read");
    for my $case ([last => 0xffffffff], [read => $read]) {
        my $r = bulk($w, $case->[1], [ $base + 1, 'named' ]);
        $named{$how}{ $case->[0] } = join ' ', map { $_ // '' } @$r{qw(type code state)};
    }
    my $r = bulk($w, $insert, [ $base + 2, 'named' ]);
    $named{$how}{insert} = join ' ', map { $_ // '' } @$r{qw(type affected code)};
    my ($n) = $w->query("SELECT GROUP_CONCAT(id - $base) FROM b WHERE id BETWEEN $base + 1 AND $base + 2", 10);
    $named{$how}{rows} = $n->{rows}[0][0];
    $w->close;
}
is($named{direct}{rows}, '2', 'directly, only the INSERT\'s bulk wrote a row');
is_deeply($named{causeway}, $named{direct}, 'through Causeway: the statements the client named, as directly')
    or diag(explain \%named);

$t->done;
