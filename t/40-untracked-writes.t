# Writes whose OK carries no position must never be taken as "nothing written" (issue 7
# items 0 and 0b). A client can switch session tracking off without a top-level SET: with
# SET STATEMENT ... FOR, through PREPARE/EXECUTE (SQL and binary protocol), inside a
# multi-statement query or a stored procedure, and COM_RESET_CONNECTION (alone, or after a
# global change) resets it to the server's default. Each form writes a row while both
# replicas' SQL threads are stopped (they still look usable, at an old position), then reads
# it back at once: the read must see the write. A plain write after each form must be
# tracked again (read back too), and once the replicas catch up, reads leave the primary
# (the fence costs no offload). Run in CONNECTION and USER session modes.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;
use Causeway::Util qw(wait_until);
use Causeway::Wire qw(COM_RESET_CONNECTION);
use JSON::PP qw(decode_json);

my $t = Causeway::Test->new;
$t->need_proxy('read/write splitting');
my $topo = $t->topology;
my $primary = $topo->primary;
my @replicas = $topo->replicas;
my %is_replica = map { $_->name => 1 } @replicas;

$primary->sql($_) for (
    'CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)',
    'INSERT INTO test.t SELECT seq, 0 FROM test.seq_1_to_100',
    "CREATE PROCEDURE test.untracked_update(k INT, x INT) BEGIN "
        . "SET SESSION session_track_system_variables = ''; UPDATE test.t SET v = x WHERE id = k; END",
);
$topo->add_markers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');

my $ctl = $t->root . '/bin/causewayctl';
my $value = 1000;

for my $mode (qw(CONNECTION USER)) {
    my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', session_id => $mode } });
    my $w = Causeway::Wire->new(port => $cw->port, timeout => 10);
    my $login = $w->login(user => 'app', password => 'secret', db => 'test');
    is($login->{type}, 'ok', "$mode: raw client logs in") or next;
    my $dbh = $t->connect(port => $cw->port, attr => { mariadb_server_prepare => 1 });
    ok($dbh, "$mode: DBD::MariaDB (server-side prepares) connects") or next;

    # One text statement (every result): 'ok', the first row of the last result, or 'ERR ...'.
    my $wq = sub {
        my ($sql) = @_;
        my @res = $w->query($sql, 10);
        my $r = $res[-1];
        for (@res) { return "ERR $_->{code} $_->{message}" if $_->{type} eq 'err' }
        return $r->{rows}[0] // [] if $r->{type} eq 'rows';
        return $r->{type};
    };
    my $read = sub {    # [v, server] of row $k
        my ($k) = @_;
        my $row = $wq->("SELECT t.v, m.name FROM t JOIN marker m WHERE t.id = $k");
        return ref $row ? $row : [ "($row)", '' ];
    };
    ok(wait_until(sub { ($read->(100)->[1] // '') =~ /^r\d$/ }, timeout => 10, interval => 0.05),
       "$mode: a plain read is answered by a replica");

    my @forms = (
        [ 'SET STATEMENT session_track_system_variables = \'\' FOR UPDATE', sub {
              my ($k, $v) = @_;
              return $wq->("SET STATEMENT session_track_system_variables = '' FOR UPDATE t SET v = $v WHERE id = $k");
          } ],
        [ 'PREPARE/EXECUTE of a SET that switches tracking off, then UPDATE', sub {
              my ($k, $v) = @_;
              my @r = map { $wq->($_) } ("PREPARE s FROM 'SET SESSION session_track_system_variables = \\'\\''",
                                         'EXECUTE s', 'DEALLOCATE PREPARE s', "UPDATE t SET v = $v WHERE id = $k");
              return (grep { $_ ne 'ok' } @r)[0] // 'ok';
          } ],
        [ 'multi-statement: SET tracking off; UPDATE', sub {
              my ($k, $v) = @_;
              return $wq->("SET SESSION session_track_system_variables = ''; UPDATE t SET v = $v WHERE id = $k");
          } ],
        [ 'stored procedure that switches tracking off and updates', sub {
              my ($k, $v) = @_;
              return $wq->("CALL untracked_update($k, $v)");
          } ],
        [ 'COM_RESET_CONNECTION, then UPDATE', sub {
              my ($k, $v) = @_;
              $w->command(COM_RESET_CONNECTION);
              my ($r) = $w->read_all(10);
              return "reset: $r->{type}" unless $r->{type} eq 'ok';
              return $wq->("UPDATE t SET v = $v WHERE id = $k");
          } ],
        [ 'global tracking off + COM_RESET_CONNECTION, then UPDATE', sub {
              my ($k, $v) = @_;
              $primary->sql("SET GLOBAL session_track_system_variables = ''");
              $w->command(COM_RESET_CONNECTION);
              my ($r) = $w->read_all(10);
              my $res = $r->{type} eq 'ok' ? $wq->("UPDATE t SET v = $v WHERE id = $k") : "reset: $r->{type}";
              $primary->sql('SET GLOBAL session_track_system_variables = DEFAULT');
              return $res;
          } ],
        [ 'binary protocol: prepared SET tracking off, prepared UPDATE', sub {
              my ($k, $v) = @_;
              $dbh->do("SET SESSION session_track_system_variables = ''") or return "SET: $DBI::errstr";
              $dbh->do('UPDATE t SET v = ? WHERE id = ?', undef, $v, $k) or return "UPDATE: $DBI::errstr";
              return 'ok';
          }, sub {
              my ($k) = @_;
              my $row = $dbh->selectrow_arrayref('SELECT t.v, m.name FROM t JOIN marker m WHERE t.id = ?', undef, $k);
              return $row // [ "(ERR $DBI::errstr)", '' ];
          } ],
    );

    my $k = 0;
    for my $f (@forms) {
        my ($label, $write, $reader) = @$f;
        $reader //= $read;
        $k++;
        # Each form starts with replicas at the primary's position, then lagging: only the
        # form's own write is ahead of them (an earlier tracked write would hide a miss).
        $_->start_sql_thread for @replicas;
        $topo->wait_for_replicas(30) or diag("$mode: replicas did not catch up before '$label'");
        $_->stop_sql_thread for @replicas;
        $value++;
        is($write->($k, $value), 'ok', "$mode: $label: the write succeeds");
        my $got = $reader->($k);
        is($got->[0], $value, "$mode: $label: read back at once sees the write (answered by $got->[1])");
        # The next plain write on that connection is tracked (or fenced) again.
        $value++;
        if ($reader == $read) { is($wq->("UPDATE t SET v = $value WHERE id = $k"), 'ok', "$mode: $label: a plain UPDATE") }
        else { ok($dbh->do('UPDATE t SET v = ? WHERE id = ?', undef, $value, $k), "$mode: $label: a plain UPDATE") }
        $got = $reader->($k);
        is($got->[0], $value, "$mode: $label: the plain UPDATE reads back too (answered by $got->[1])");
    }
    $_->start_sql_thread for @replicas;
    ok($topo->wait_for_replicas(30), "$mode: replicas catch up after their SQL threads restart");

    # Tracking is back on every connection: reads leave the primary again.
    my %by;
    for (1 .. 20) { $by{ $read->(1)->[1] }++ }
    my $on = 0;
    $on += $by{$_} // 0 for keys %is_replica;
    cmp_ok($on, '>=', 15, "$mode: afterwards reads are answered by replicas ($on of 20)");

    my $r = $t->run([ $ctl, '-c', $cw->cnf, '--json', 'counters' ], timeout => 20);
    my $j = eval { decode_json($r->{out}) } // {};
    diag(explain $j->{total}{routed}) if $ENV{DEBUG_ROUTES};
    # Every form but the last needs a fence: a prepared SET of the tracked list is seen and
    # re-tracked at once, like a SET query.
    cmp_ok($j->{total}{counters}{position_fences} // 0, '>=', @forms - 1,
           "$mode: causewayctl counts the position fences");
    $dbh->disconnect;
    $w->close;
}

$t->done;
