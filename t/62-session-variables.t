# Session variables changed where the statement text does not show it reach the session's
# replica reads (issue 7): a stored procedure, EXECUTE of a PREPAREd SET, a multi-statement
# query, a server-side prepared `SET @@session.x = ?` with a parameter (it left the replicas
# "unknown": every later read went to the primary), and SET profiling through EXECUTE or CALL
# (SHOW PROFILES must then run where the statements ran). Each case runs the same statements
# through Causeway and directly against the primary, with the mariadb CLI, DBD::MariaDB
# (server-side prepares and multi-statements) and PyMySQL: the answers must be the same, and
# the reads must have been answered by replicas (marker table). A client that tracks session
# variables itself sees in its OKs only the variables it tracks, as directly, and reads its own
# session_track_system_variables (the primary connection tracks '*'), as text or as a
# server-side prepared statement.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;
use Causeway::Wire;
use Causeway::Util qw(wait_until spit);

my $t = Causeway::Test->new;
$t->need_proxy('read/write splitting');
my $topo = $t->topology;
my $primary = $topo->primary;
my %is_replica = map { $_->name => 1 } $topo->replicas;

$primary->sql($_) for (
    'CREATE TABLE test.g (k INT NOT NULL, s VARCHAR(20) NOT NULL)',
    "INSERT INTO test.g VALUES (1, 'alpha'), (1, 'beta'), (1, 'gamma'), (2, 'delta')",
    # A procedure's SET of sql_mode ends with the procedure (the server restores it); the
    # others stay set in the session.
    'CREATE PROCEDURE test.set_vars() BEGIN SET SESSION div_precision_increment = 9; '
        . 'SET SESSION group_concat_max_len = 7; SET SESSION sql_mode = \'PIPES_AS_CONCAT\'; END',
    'CREATE PROCEDURE test.profile_on() BEGIN SET profiling = 1; END',
);
$topo->add_markers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');
my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', session_id => 'CONNECTION' } });

# The read after each form: the marker name (where it ran), then what the session's
# variables decide.
# (A strict sql_mode makes CHAR() of an invalid utf8mb4 string NULL, else empty.)
my $read = q{SELECT name, 'a' || 'b', 1/3, (SELECT GROUP_CONCAT(s ORDER BY s) FROM g WHERE k = 1), (SELECT MIN("k") FROM g), }
    . q{HEX(CHAR(0xff, 0x8f USING utf8mb4)) FROM marker};

# Runs statements then the read 6 times in one CLI session; returns (answers without the
# marker, markers).
sub cli_session {
    my ($port, @stmts) = @_;
    my $sql = join('; ', @stmts, ($read) x 6);
    my $r = $t->mariadb([ '-N', '-B', '-e', $sql ], port => $port);
    return ("ERR exit $r->{exit}: $r->{err}", []) if $r->{exit};
    my (@answers, @names);
    for my $line (split /\n/, $r->{out}) {
        my ($name, @rest) = split /\t/, $line;
        push @names, $name;
        push @answers, join("\t", @rest);
    }
    return (join("\n", @answers), \@names);
}

sub on_replicas {
    my ($label, $names, $min) = @_;
    my $on = grep { $is_replica{$_} } @$names;
    cmp_ok($on, '>=', $min // 4, "$label: reads answered by replicas ($on of " . scalar(@$names) . ")")
        or diag('answered by: ' . join(', ', @$names));
}

ok(wait_until(sub { my ($a, $n) = cli_session($cw->port); grep { $is_replica{$_} } @$n },
              timeout => 10, interval => 0.1), 'a plain read is answered by a replica');

my @cli_cases = (
    [ 'CALL of a procedure that sets variables', 'CALL set_vars()' ],
    [ 'EXECUTE of a PREPAREd SET', q{PREPARE s FROM 'SET sql_mode = ''PIPES_AS_CONCAT,ANSI_QUOTES'''}, 'EXECUTE s' ],
    [ 'EXECUTE ... USING of a PREPAREd SET with parameters',
      q{PREPARE s FROM 'SET div_precision_increment = ?, group_concat_max_len = ?'}, 'EXECUTE s USING 12, 11' ],
    # The server reports the clause's temporary value (mtr main.ctype_utf8mb4_innodb).
    [ 'SET STATEMENT sql_mode = ... FOR a write (the change ends with the statement)',
      q{SET STATEMENT sql_mode = 'NO_ENGINE_SUBSTITUTION' FOR INSERT INTO g VALUES (5, 'y')} ],
    [ 'SET STATEMENT ... FOR (the change ends with the statement)',
      q{SET STATEMENT div_precision_increment = 20, sql_mode = 'PIPES_AS_CONCAT' FOR SELECT 1/3} ],
);
for my $c (@cli_cases) {
    my ($label, @stmts) = @$c;
    my ($want, $direct_names) = cli_session($primary->port, @stmts);
    my ($got, $names) = cli_session($cw->port, @stmts);
    is($got, $want, "mariadb CLI, $label: the reads answer as directly on the primary");
    on_replicas("mariadb CLI, $label", $names);
}

# Profiling switched on where the text does not say it: the statements and SHOW PROFILES
# run on the primary, which lists them.
for my $c ([ 'EXECUTE', q{PREPARE p FROM 'SET profiling = 1'}, 'EXECUTE p' ], [ 'CALL', 'CALL profile_on()' ]) {
    my ($label, @stmts) = @$c;
    my $r = $t->mariadb([ '-N', '-B', '-e', join('; ', @stmts, 'SELECT name, 42 FROM marker', 'SHOW PROFILES') ]);
    my @lines = split /\n/, $r->{out};
    is($lines[0] // '', "primary\t42", "profiling on through $label: the next read runs on the primary");
    ok((grep { /\tSELECT name, 42 FROM marker$/ } @lines), "profiling on through $label: SHOW PROFILES lists it")
        or diag($r->{out} . $r->{err});
}

# DBD::MariaDB: a server-side prepared SET with a parameter, and a multi-statement query.
sub dbi_reads {
    my ($dbh) = @_;
    my (@answers, @names);
    for (1 .. 6) {
        my $row = $dbh->selectrow_arrayref($read) or return ("ERR $DBI::errstr", []);
        my ($name, @rest) = @$row;
        push @names, $name;
        push @answers, join("\t", map { $_ // 'NULL' } @rest);
    }
    return (join("\n", @answers), \@names);
}
my %dbi_cases = (
    'prepared SET @@session.x = ? (server-side prepare)' => [ { mariadb_server_prepare => 1 }, sub {
        my ($dbh) = @_;
        for my $set (['SET @@session.div_precision_increment = ?', 11], ['SET @@session.group_concat_max_len = ?', 10]) {
            my $sth = $dbh->prepare($set->[0]) or return;
            $sth->bind_param(1, $set->[1], DBI::SQL_INTEGER());
            $sth->execute or return;
        }
        return $dbh->do('SET SESSION sql_mode = ?', undef, 'PIPES_AS_CONCAT');
    } ],
    'multi-statement SET' => [ { mariadb_multi_statements => 1 }, sub {
        my ($dbh) = @_;
        return $dbh->do("SET div_precision_increment = 13; SET sql_mode = 'PIPES_AS_CONCAT,ANSI_QUOTES'; "
                        . 'SET group_concat_max_len = 9');
    } ],
);
for my $label (sort keys %dbi_cases) {
    my ($attr, $run) = @{ $dbi_cases{$label} };
    my $direct = $t->connect(port => $primary->port, attr => $attr);
    my $via = $t->connect(attr => $attr);
    ok($direct && $via && $run->($direct) && $run->($via), "DBD::MariaDB $label") or diag($DBI::errstr);
    my ($want) = dbi_reads($direct);
    my ($got, $names) = dbi_reads($via);
    is($got, $want, "DBD::MariaDB $label: the reads answer as directly on the primary");
    on_replicas("DBD::MariaDB $label", $names);
    $_->disconnect for grep { $_ } $direct, $via;
}

# PyMySQL (text protocol, multi-statements on by default).
my $py = <<'PY';
import sys, pymysql, pymysql.constants.CLIENT
port, replicas, read = int(sys.argv[1]), sys.argv[2].split(','), sys.argv[3]
forms = {
    'py_call': ['CALL set_vars()'],
    'py_multi': ["SET div_precision_increment = 14; SET group_concat_max_len = 8; SET sql_mode = 'PIPES_AS_CONCAT'"],
    'py_execute': ["PREPARE s FROM 'SET div_precision_increment = ?'", 'EXECUTE s USING 15'],
}
for name, stmts in sorted(forms.items()):
    answers = {}
    for target in ('direct', 'proxy'):
        c = pymysql.connect(host='127.0.0.1', port=int(sys.argv[4]) if target == 'direct' else port,
                            user='app', password='secret', database='test',
                            client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS)
        cur = c.cursor()
        for s in stmts:
            cur.execute(s)
            while cur.nextset():
                pass
        rows, seen = [], []
        for _ in range(6):
            cur.execute(read)
            r = cur.fetchone()
            seen.append(r[0])
            rows.append(repr(r[1:]))
        answers[target] = (rows, seen)
        c.close()
    same = answers['direct'][0] == answers['proxy'][0]
    print(('ok ' if same else 'not ok ') + name + '_same' + ('' if same else ': %r vs %r' % (answers['proxy'][0][0], answers['direct'][0][0])))
    on = sum(1 for n in answers['proxy'][1] if n in replicas)
    print(('ok ' if on >= 4 else 'not ok ') + name + '_replicas' + ('' if on >= 4 else ': %s' % answers['proxy'][1]))
PY
my $py_file = $t->dir . '/session-vars.py';
spit($py_file, $py);
$t->script_checks('PyMySQL', [ Causeway::Test::python() // 'python3', $py_file, $cw->port,
                               join(',', sort keys %is_replica), $read, $primary->port ],
                  [ map { ("py_${_}_same", "py_${_}_replicas") } qw(call execute multi) ]);

# A client that tracks session state (CLIENT_SESSION_TRACK) sees what it would see directly:
# its OKs carry the variables of its own list only (not the ones Causeway tracks, not
# last_gtid), whatever the primary connection tracks.
# The OK's info and session-state block: the info, then each tracker entry, system variables as
# name=value. The server writes the variables in the order of its own hash of what it tracks,
# so a session tracking more lists them in another order: they are compared sorted.
sub tracked {
    my ($rest) = @_;
    my $lenenc = sub {
        my $n = ord substr($rest, 0, 1, '');
        $n = unpack('v', substr($rest, 0, 2, '')) if $n == 0xfc;
        return substr($rest, 0, $n, '');
    };
    my $info = $lenenc->();
    return "info '$info'" unless length $rest;
    my $block = $lenenc->();
    my @entries;
    while (length $block) {
        my $type = ord substr($block, 0, 1, '');
        my $n = ord substr($block, 0, 1, '');
        my $data = substr($block, 0, $n, '');
        if ($type == 0) {
            my $ln = ord substr($data, 0, 1, '');
            my $name = substr($data, 0, $ln, '');
            my $lv = ord substr($data, 0, 1, '');
            push @entries, "$name=" . substr($data, 0, $lv);
        } else {
            push @entries, "type $type " . unpack('H*', $data);
        }
    }
    return "info '$info' tracked " . join(' ', sort @entries);
}

sub ok_blocks {
    my ($port) = @_;
    my $w = Causeway::Wire->new(port => $port);
    my $l = $w->login(user => 'app', password => 'secret', db => 'test', caps_add => 1 << 23);
    return ["login: $l->{type}"] unless $l->{type} eq 'ok';
    my @out;
    for my $sql ("SET sql_mode = 'ANSI'", 'SET NAMES latin1', "SET time_zone = '+01:00'",
                 'INSERT INTO g VALUES (3, \'x\')', 'CALL set_vars()', 'SET div_precision_increment = 5',
                 q{SET session_track_system_variables = 'sql_mode,time_zone'}, "SET sql_mode = ''",
                 "SET time_zone = '+02:00', div_precision_increment = 6") {
        my ($r) = $w->query($sql);
        push @out, "$sql => " . ($r->{type} eq 'ok' ? sprintf('status %04x %s', $r->{status}, tracked($r->{info}))
                                                    : "$r->{type} " . ($r->{message} // ''));
    }
    $w->close;
    return \@out;
}
is_deeply(ok_blocks($cw->port), ok_blocks($primary->port),
          'a client tracking its own list gets the same OK packets as directly');

# Reading the list shows the client's own, not the '*' of Causeway's primary connection: by
# name, in SHOW VARIABLES and in information_schema, before and after the client's own SET.
{
    my @reads = ('SELECT @@session_track_system_variables', q{SHOW VARIABLES LIKE 'session_track_sys%'},
                 q{SELECT variable_value FROM information_schema.SESSION_VARIABLES }
                     . q{WHERE variable_name = 'SESSION_TRACK_SYSTEM_VARIABLES'});
    my $sql = join('; ', @reads, q{SET session_track_system_variables = 'sql_mode,time_zone'},
                   'SELECT @@session.session_track_system_variables', @reads[1, 2],
                   q{SET session_track_system_variables = '*'}, $reads[0]);
    my ($via, $direct) = map { $t->mariadb([ '-N', '-B', '-e', $sql ], port => $_) } $cw->port, $primary->port;
    is($via->{out}, $direct->{out}, 'session_track_system_variables reads as directly on the primary')
        or diag($via->{err});
    like($direct->{out}, qr/^sql_mode,time_zone$/m, '... (the client\'s own list is in it)');
}

# The same reads as server-side prepared statements (DBD::MariaDB mariadb_server_prepare=1:
# binary-protocol rows; before, they showed the '*' of Causeway's primary connection), before
# and after the client's own SET, itself prepared too, and with another column beside it.
{
    my @reads = ('SELECT @@session_track_system_variables', 'SELECT @@session.session_track_system_variables, 1',
                 q{SHOW VARIABLES LIKE 'session_track_sys%'},
                 q{SELECT variable_value FROM information_schema.SESSION_VARIABLES }
                     . q{WHERE variable_name = 'SESSION_TRACK_SYSTEM_VARIABLES'});
    my @steps = (@reads, q{SET session_track_system_variables = 'sql_mode,time_zone'}, @reads,
                 q{SET session_track_system_variables = '*'}, $reads[0]);
    my $answers = sub {
        my ($port) = @_;
        my $h = $t->connect(port => $port, dsn => 'mariadb_server_prepare=1');
        my @a = map { /^SET/ ? ($h->do($_) ? 'ok' : $h->errstr) : $h->selectall_arrayref($_) // $h->errstr } @steps;
        $h->disconnect;
        return \@a;
    };
    my ($via, $direct) = map { $answers->($_) } $cw->port, $primary->port;
    is_deeply($via, $direct, 'server-side prepared: session_track_system_variables reads as directly on the primary')
        or diag(explain { via => $via, direct => $direct });
    is($direct->[5][0][0], 'sql_mode,time_zone', "... (the client's own list is in it)");
    isnt($direct->[0][0][0], '*', "... (and before its SET the server's default, not '*')");
}

ok($t->log_is_clean($cw), 'no errors in the causeway log');
$t->done;
