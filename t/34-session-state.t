# Session state carried to replica reads (issue 4 item 10; DESIGN §2 "session variables must
# not break"): after SET NAMES latin1 / utf8mb4, SET time_zone, SET sql_mode and USE db2 (as
# SQL and as COM_INIT_DB), reads answered by a replica (per the marker table) show the
# session's settings: @@character_set_client/results, a non-ASCII byte round trip and
# conversion, TIMESTAMPDIFF(NOW(), UTC_TIMESTAMP()), ANSI_QUOTES parsing, DATABASE() and an
# unqualified table of db2. A user variable (SET @x) must read back wherever it is served.
# The raw client (Causeway::Wire) sends and reads bytes untranslated.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;
use Causeway::Wire qw(COM_INIT_DB);

my $t = Causeway::Test->new;

# A file that cannot even connect fails once and stops here (no BAIL_OUT: the other files run).
sub give_up { my ($why) = @_; fail($why); $t->done; exit }
$t->need_proxy('read/write splitting');
my $topo = $t->topology;
my $primary = $topo->primary;
my %is_replica = map { $_->name => 1 } $topo->replicas;

$primary->sql($_) for (
    'CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)',
    'INSERT INTO test.t VALUES (1, 0)',
    'CREATE TABLE test.strs (s VARCHAR(10) CHARACTER SET utf8mb4 NOT NULL)',
    'INSERT INTO test.strs VALUES (_utf8mb4 0xC3A9)',    # é
    'CREATE DATABASE db2',
    'CREATE TABLE db2.t2 (id INT PRIMARY KEY, v INT NOT NULL)',
    'INSERT INTO db2.t2 VALUES (1, 222)',
);
for my $s ($topo->servers) {
    $s->sql('SET SESSION sql_log_bin = 0');
    for my $db (qw(test db2)) {
        $s->sql("CREATE TABLE $db.marker (name VARCHAR(32) NOT NULL)");
        $s->sql("INSERT INTO $db.marker VALUES (?)", ($db eq 'test' ? '' : "$db:") . $s->name);
    }
    $s->sql('SET SESSION sql_log_bin = 1');
}
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');

my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', session_id => 'CONNECTION' } });
my $w = Causeway::Wire->new(port => $cw->port, timeout => 10);
my $login = $w->login(user => 'app', password => 'secret', db => 'test', charset => 45);
is($login->{type}, 'ok', 'raw client logs in through causewayd (utf8mb4)')
    or give_up('login: ' . ($login->{message} // $login->{type}));

# One statement: its first row (arrayref), 'ok', or 'ERR code message'.
sub wq {
    my ($sql) = @_;
    my ($r) = $w->query($sql, 10);
    return $r->{rows}[0] // [] if $r->{type} eq 'rows';
    return 'ok' if $r->{type} eq 'ok';
    return "ERR $r->{code} $r->{message}" if $r->{type} eq 'err';
    return $r->{type};
}
# Right after causewayd starts its poller may not have reported the replicas yet (reads then
# rightly stay on the primary): wait (bounded) until a plain read is answered by a replica.
ok(wait_until(sub { my $row = wq('SELECT name FROM marker'); ref $row && ($row->[0] // '') =~ /^r\d$/ },
              timeout => 5, interval => 0.05), 'a plain read is answered by a replica within 5 s of the start');

sub server_of { my ($name) = @_; $name //= ''; $name =~ s/^\w+://; return $name }

# Runs $sql $n times; $check->(row) returns '' when the row shows the session's settings.
# Every row must pass; at least $n - 2 must come from replicas (the marker in column 0).
sub check_reads {
    my ($label, $sql, $check, %o) = @_;
    my $n = $o{n} // 10;
    my (@bad, %by);
    for my $k (1 .. $n) {
        my $row = wq($sql);
        if (!ref $row) { push @bad, "#$k: $row"; next }
        $by{ server_of($row->[0]) }++;
        my $why = $check->($row);
        push @bad, "#$k (answered by " . ($row->[0] // 'NULL') . "): $why" if $why;
    }
    splice(@bad, 3, @bad - 3, '...') if @bad > 4;
    is(join("\n", @bad), '', "$label: every read shows the session's settings");
    my $on = 0;
    $on += $by{$_} for grep { $is_replica{$_} } keys %by;
    note("$label: answered by " . join(', ', map { "$_ $by{$_}" } sort keys %by));
    cmp_ok($on, '>=', $n - 2, "$label: the reads are answered by replicas (at least " . ($n - 2) . " of $n)")
        unless $o{anywhere};
}

sub expect {
    my (%want) = @_;    # column index => value
    return sub {
        my ($row) = @_;
        my @why;
        for my $i (sort keys %want) {
            my $got = $row->[$i];
            push @why, sprintf('column %d is %s, want %s', $i, defined $got ? "'" . unpack('H*', $got) . "' (hex)" : 'NULL',
                               "'" . unpack('H*', $want{$i}) . "' (hex)")
                unless defined $got && $got eq $want{$i};
        }
        return join('; ', @why);
    };
}

my $charset_sql = "SELECT name, \@\@character_set_client, \@\@character_set_results, "
                . "HEX(CONVERT('%s' USING utf8mb4)), s FROM marker JOIN strs";

check_reads('utf8mb4 (login charset)', sprintf($charset_sql, "\xc3\xa9"),
            expect(1 => 'utf8mb4', 2 => 'utf8mb4', 3 => 'C3A9', 4 => "\xc3\xa9"));
is(wq('SET NAMES latin1'), 'ok', 'SET NAMES latin1');
check_reads('after SET NAMES latin1', sprintf($charset_sql, "\xe9"),
            expect(1 => 'latin1', 2 => 'latin1', 3 => 'C3A9', 4 => "\xe9"));
is(wq('SET NAMES utf8mb4'), 'ok', 'SET NAMES utf8mb4');
check_reads('after SET NAMES utf8mb4 again', sprintf($charset_sql, "\xc3\xa9"),
            expect(1 => 'utf8mb4', 2 => 'utf8mb4', 3 => 'C3A9', 4 => "\xc3\xa9"));

is(wq("SET time_zone = '+05:00'"), 'ok', "SET time_zone = '+05:00'");
check_reads("after SET time_zone = '+05:00'",
            'SELECT name, @@time_zone, TIMESTAMPDIFF(MINUTE, UTC_TIMESTAMP(), NOW()) FROM marker',
            expect(1 => '+05:00', 2 => '300'));

is(wq("SET sql_mode = 'ANSI_QUOTES'"), 'ok', "SET sql_mode = 'ANSI_QUOTES'");
check_reads("after SET sql_mode = 'ANSI_QUOTES' (\"name\" is a column)",
            'SELECT name, "name", @@sql_mode FROM marker', sub {
                my ($row) = @_;
                return expect(2 => 'ANSI_QUOTES')->($row) . (defined $row->[1] && $row->[1] eq ($row->[0] // '')
                                                             ? '' : "; \"name\" read as '" . ($row->[1] // 'NULL') . "'");
            });
is(wq('SET sql_mode = DEFAULT'), 'ok', 'SET sql_mode = DEFAULT');
check_reads('after SET sql_mode = DEFAULT ("name" is a string)', 'SELECT name, "name" FROM marker', expect(1 => 'name'));

is(wq('USE db2'), 'ok', 'USE db2 (COM_QUERY)');
check_reads('after USE db2', 'SELECT name, DATABASE(), (SELECT v FROM t2 WHERE id = 1) FROM marker',
            sub { my ($row) = @_; return expect(1 => 'db2', 2 => '222')->($row)
                                       . (($row->[0] // '') =~ /^db2:/ ? '' : "; marker is not db2's") });
$w->command(COM_INIT_DB, 'test');
my ($r) = $w->read_all(10);
is($r->{type}, 'ok', 'COM_INIT_DB test') or diag(explain $r);
check_reads('after COM_INIT_DB test', 'SELECT name, DATABASE() FROM marker',
            sub { my ($row) = @_; return expect(1 => 'test')->($row) . (($row->[0] // '') =~ /:/ ? "; marker is not test's" : '') });
$w->command(COM_INIT_DB, 'db2');
($r) = $w->read_all(10);
is($r->{type}, 'ok', 'COM_INIT_DB db2');
check_reads('after COM_INIT_DB db2', 'SELECT name, DATABASE() FROM marker', expect(1 => 'db2'));
is(wq('USE test'), 'ok', 'USE test');

# User variables: wherever the read goes, it must see them.
is(wq('SET @x = 42'), 'ok', 'SET @x = 42');
check_reads('after SET @x = 42', 'SELECT name, @x FROM marker', expect(1 => '42'), anywhere => 1);

# The settings survive a write (the next read may wait for a replica or stay on the primary).
{
    my @bad;
    for my $k (1 .. 20) {
        my $u = wq("UPDATE t SET v = $k WHERE id = 1");
        push @bad, "UPDATE #$k: $u" unless $u eq 'ok';
        my $row = wq('SELECT name, @@time_zone, v FROM marker JOIN t WHERE t.id = 1');
        my $why = ref $row ? expect(1 => '+05:00', 2 => $k)->($row) : $row;
        push @bad, "read #$k" . (ref $row ? " (answered by $row->[0])" : '') . ": $why" if $why;
    }
    splice(@bad, 3, @bad - 3, '...') if @bad > 4;
    is(join("\n", @bad), '', 'write then read, 20 times: the read sees the write and the session time zone');
}

$w->close;
$t->log_is_clean($cw);
$t->done;
