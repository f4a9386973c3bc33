# causewayctl against a running causewayd: status, replicas, sessions and counters in text
# and in JSON (which must parse and agree with what the test knows: the supervisor pid, its
# workers and poller, the backends of the topology, the queries it sent), and clear errors
# with exit status 1 for a wrong config path, an instance that is not running, bad usage.
# In smartscale mode (session per connection), `sessions N` lists the sessions whose writes
# the replicas have not applied (both SQL threads stopped), furthest ahead first, and shows
# them reclaimed once the replicas catch up.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use Causeway::Test;

my $t = Causeway::Test->new;
$t->need_proxy('causewayctl reads causewayd shared memory');
my $ctl = $t->root . '/bin/causewayctl';
plan skip_all => "$ctl is missing: run make" unless -x $ctl;

my $topo = $t->topology;
my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', session_id => 'CONNECTION' },
                                   monitor => { poll_interval_ms => 10 } });
my $shm = '/causeway-' . $cw->port;
my $p = $topo->primary;

sub ctl { my (@args) = @_; return $t->run([$ctl, '-c', $cw->cnf, @args], timeout => 20) }

# Runs `causewayctl --json ARGS`; the decoded object, or undef (with a diagnostic).
sub ctl_json {
    my (@args) = @_;
    my $r = ctl('--json', @args);
    my $j = eval { decode_json($r->{out}) };
    unless ($j && $r->{exit} == 0) {
        diag("causewayctl --json @args: exit $r->{exit}, stderr: $r->{err}\nstdout: $r->{out}");
        return $j;
    }
    return $j;
}

sub backend { my ($j, $name) = @_; my ($b) = grep { $_->{name} eq $name } @{ $j->{backends} // [] }; return $b }

# The poller publishes within a few intervals of start.
my $ready = wait_until(sub {
    my $j = eval { decode_json(ctl('--json', 'replicas')->{out}) } or return 0;
    return 0 unless $j->{heartbeat_fresh};
    return !grep { ($_->{state} // '') ne 'up' } @{ $j->{backends} };
}, timeout => 10, interval => 0.1);
ok($ready, 'within 10 s the poller beats and every backend is up')
    or diag(ctl('replicas')->{out} . ctl('status')->{out});

# ------------------------------------------------------------------ status
my $r = ctl('status');
note("causewayctl status:\n$r->{out}");
is($r->{exit}, 0, 'status exits 0') or diag($r->{err});
is($r->{err}, '', 'status writes nothing to stderr');
like($r->{out}, qr/^instance\s+\Q$shm\E$/m, 'status text names the segment');
like($r->{out}, qr/^supervisor\s+pid ${\ $cw->pid} \(running\)$/m, 'status text: supervisor pid, running');
like($r->{out}, qr/^layout\s+version \d+, /m, 'status text: layout version');
like($r->{out}, qr/^poller\s+pid \d+ \(running\), heartbeat [\d.]+ (?:ms|s) ago$/m, 'status text: poller heartbeat');
like($r->{out}, qr/^sessions\s+[\d,]+ of [\d,]+ entries \([\d.]+%\)$/m, 'status text: table fill');
like($r->{out}, qr/^\s*SLOT\s+PID\s+RUNNING\s+GEN\s+ACTIVE\s+ACCEPTED\s+QUERIES\s+UP$/m, 'status text: worker table');

my $st = ctl_json('status');
ok($st, 'status --json parses');
my @kids = $cw->children;
is($st->{instance}{shm_name}, $shm, 'status: shm_name is /causeway-<port>');
is($st->{instance}{supervisor_pid}, $cw->pid, 'status: supervisor_pid is causewayd');
ok($st->{instance}{supervisor_running}, 'status: supervisor_running');
cmp_ok($st->{instance}{layout_version}, '>=', 1, 'status: layout_version');
like($st->{instance}{created}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'status: created is ISO 8601 UTC');
cmp_ok($st->{instance}{uptime_s}, '<', 600, 'status: uptime is minutes at most');
cmp_ok($st->{instance}{segment_bytes}, '>', 0, 'status: segment size');
cmp_ok($st->{instance}{config_generation}, '>=', 0, 'status: config generation');
is(scalar @{ $st->{workers} }, 2, 'status: two workers');
for my $w (@{ $st->{workers} }) {
    ok((grep { $_ == $w->{pid} } @kids), "status: worker pid $w->{pid} is a child of causewayd");
    ok($w->{running}, "status: worker $w->{pid} running");
    is($w->{generation}, $st->{instance}{config_generation},
       "status: worker $w->{pid} runs the segment's config generation");
}
ok((grep { $_ == $st->{poller}{pid} } @kids), 'status: poller pid is a child of causewayd');
ok($st->{poller}{running}, 'status: poller running');
is($st->{poller}{generation}, $st->{instance}{config_generation}, "status: the poller runs the segment's config generation");
cmp_ok($st->{poller}{heartbeat_age_ms} // 1e9, '<', 100, 'status: heartbeat age under 100 ms');
ok($st->{poller}{heartbeat_fresh}, 'status: heartbeat fresh');
my $s = $st->{sessions};
cmp_ok($s->{capacity}, '>=', 1024, 'status: table capacity');
cmp_ok($s->{occupied}, '<=', $s->{capacity}, 'status: occupied within capacity');
ok(defined $s->{fill_percent} && $s->{fill_percent} >= 0 && $s->{fill_percent} <= 100, 'status: fill percent');
ok($s->{floor_set}, 'status: floor set after the first primary poll');
like($s->{floor}, qr/^\d+-\d+-\d+(?:,\d+-\d+-\d+)*$/, 'status: floor is a GTID position');
ok(exists $s->{stats}{updates_full}, 'status: table stats');

# ------------------------------------------------------------------ replicas
$r = ctl('replicas');
note("causewayctl replicas:\n$r->{out}");
is($r->{exit}, 0, 'replicas exits 0') or diag($r->{err});
like($r->{out}, qr/^#\s+NAME\s+ROLE\s+ADDRESS\s+STATE\s+USABLE\s+GTID\s+BEHIND\b/m, 'replicas text: header');
like($r->{out}, qr/^primary\s+primary \(up\), 0 changes$/m, 'replicas text: the primary role and its holder');
# Row 0 is the role (writes go there); each server follows with its role now. The primary's
# own row is not usable for reads: they reach it as row 0.
like($r->{out}, qr/^\s*0\s+primary\s+primary \(role\)\s+\Q${\ $p->address}\E\s+up\s+yes\s+\d+-\d+-\d+/m,
     'replicas text: the primary role, its server\'s address, up and usable');
for my $srv ($topo->servers) {
    my $n = $srv->name;
    my ($role, $usable) = $srv == $p ? ('primary', 'no') : ('replica', 'yes');
    like($r->{out}, qr/^\s*[1-9]\d*\s+\Q$n\E\s+$role\s+\Q${\ $srv->address}\E\s+up\s+$usable\s+\d+-\d+-\d+/m,
         "replicas text: $n, $role, its address, up, usable for reads: $usable");
}

my $rj = ctl_json('replicas');
ok($rj, 'replicas --json parses');
is(scalar @{ $rj->{backends} }, 4, 'replicas: four entries (the primary role, r1, r2, the primary server)');
is($rj->{backends}[0]{role}, 'primary', 'replicas: index 0 is the primary');
is($rj->{backends}[0]{name}, 'primary', 'replicas: ... named primary');
$p->sql('CREATE TABLE IF NOT EXISTS test.ctl (id INT PRIMARY KEY AUTO_INCREMENT, v INT)');
$p->sql('INSERT INTO test.ctl (v) VALUES (1)');
$topo->wait_for_replicas(10);
my $target = $p->value('SELECT @@gtid_binlog_pos');
wait_until(sub {
    my $j = eval { decode_json(ctl('--json', 'replicas')->{out}) } or return 0;
    return !grep { ($_->{gtid} // '') ne $target } @{ $j->{backends} };
}, timeout => 5, interval => 0.05);
$rj = ctl_json('replicas');
for my $srv ($topo->servers) {
    my $b = backend($rj, $srv->name);
    ok($b, "replicas: $srv->{name} listed") or next;
    is($b->{address}, $srv->address, "replicas: $srv->{name} address");
    is($b->{state}, 'up', "replicas: $srv->{name} up") or diag(explain $b);
    ok($b->{usable}, "replicas: $srv->{name} usable") or diag(explain $rj);
    is($b->{gtid}, $target, "replicas: $srv->{name} at the primary's position $target");
    is($b->{behind}, 0, "replicas: $srv->{name} 0 transactions behind");
    cmp_ok($b->{last_poll_age_ms} // 1e9, '<', 100, "replicas: $srv->{name} polled within 100 ms");
    ok(defined $b->{poll_rtt_us} && $b->{poll_rtt_us} > 0 && $b->{poll_rtt_us} < 1e6, "replicas: $srv->{name} rtt");
    cmp_ok($b->{polls}, '>', 0, "replicas: $srv->{name} polled");
    if ($srv == $p) {
        ok(!defined $b->{io_running} && !defined $b->{sql_running}, 'replicas: no thread flags for the primary');
        ok(!$b->{read_only}, 'replicas: the primary is not read_only');
    } else {
        ok($b->{io_running} && $b->{sql_running}, "replicas: $srv->{name} IO and SQL threads running");
        ok($b->{read_only}, "replicas: $srv->{name} read_only");
    }
}

# ------------------------------------------------------------------ counters
my $dbh = $t->connect or BAIL_OUT("connect through causewayd: $DBI::errstr");
$dbh->selectrow_array('SELECT 1') for 1 .. 20;
$dbh->disconnect;
my $cj;
wait_until(sub { $cj = ctl_json('counters'); return $cj && $cj->{total}{counters}{queries_forwarded} >= 20 },
           timeout => 5);
ok($cj, 'counters --json parses');
cmp_ok($cj->{total}{counters}{queries_forwarded}, '>=', 20, 'counters: the 20 queries are counted');
cmp_ok($cj->{total}{counters}{connections_accepted}, '>=', 1, 'counters: the connection is counted');
my @reasons = qw(replica_caught_up replica_after_wait replica_direct primary_write primary_transaction
  primary_locking_read primary_unclassified primary_not_caught_up primary_table_full
  primary_session_unknown primary_progress_old primary_bridge primary_unavailable
  primary_server_specific);
is(join(' ', sort keys %{ $cj->{total}{routed} }), join(' ', sort @reasons), 'counters: every route reason');
is(scalar @{ $cj->{workers} }, 2, 'counters: two workers');
for my $name (qw(queries_forwarded connections_accepted)) {
    my $sum = 0;
    $sum += $_->{counters}{$name} for @{ $cj->{workers} };
    cmp_ok($sum, '<=', $cj->{total}{counters}{$name}, "counters: live workers' $name add up to at most the total");
}
is($cj->{poller}{pid}, $st->{poller}{pid}, 'counters: the same poller as status');
cmp_ok($cj->{poller}{polls}, '>', 0, 'counters: poller polls');

$r = ctl('counters');
note("causewayctl counters:\n$r->{out}");
is($r->{exit}, 0, 'counters exits 0');
like($r->{out}, qr/^COUNTER\s+TOTAL\s+w\d+:\d+\s+w\d+:\d+$/m, 'counters text: a column per worker');
like($r->{out}, qr/^queries_forwarded\s+[\d,]+\s+[\d,]+\s+[\d,]+$/m, 'counters text: queries_forwarded');
like($r->{out}, qr/^  \Q$_\E\s+[\d,]+/m, "counters text: $_") for @reasons;

# ------------------------------------------------------------------ sessions
$r = ctl('sessions');
note("causewayctl sessions:\n$r->{out}");
is($r->{exit}, 0, 'sessions exits 0');
like($r->{out}, qr/^sessions\s+[\d,]+ of [\d,]+ entries/m, 'sessions text: count and capacity');
like($r->{out}, qr/^floor\s+\d+-\d+-\d+/m, 'sessions text: floor');
like($r->{out}, qr/^watermark\s+/m, 'sessions text: watermark');
my $sj = ctl_json('sessions', 3);
ok($sj, 'sessions --json parses');
is($sj->{limit}, 3, 'sessions 3: limit 3');
cmp_ok($sj->{count}, '>=', 0, 'sessions: count');
is($sj->{capacity}, $s->{capacity}, 'sessions: same capacity as status');
ok(exists $sj->{entries_listed} && ref $sj->{entries} eq 'ARRAY', 'sessions: entries_listed, entries');
cmp_ok(scalar @{ $sj->{entries} }, '<=', 3, 'sessions 3: at most 3 entries');
ok($sj->{entries_listed}, 'sessions: entries_listed');
is($sj->{spilled_buckets}, 0, 'sessions: no spilled bucket');

# Writes the replicas cannot apply: each connection is a session with an entry ahead of the
# watermark, the last writer furthest ahead.
sub seqno0 { my ($gtid) = @_; return ($gtid // '') =~ /(?:^|,)0-\d+-(\d+)/ ? $1 : 0 }
$_->stop_sql_thread for $topo->replicas;
my @writers = map { $t->connect or BAIL_OUT("connect through causewayd: $DBI::errstr") } 1 .. 3;
for my $i (0 .. $#writers) {
    $writers[$i]->do('INSERT INTO test.ctl (v) VALUES (?)', undef, 10 + $_) or diag($DBI::errstr) for 0 .. $i;
}
my $last = seqno0($p->value('SELECT @@gtid_binlog_pos'));
$sj = ctl_json('sessions', 5);
ok($sj && $sj->{entries_listed}, 'replicas stopped: sessions 5 --json lists entries');
my @e = @{ $sj->{entries} // [] };
cmp_ok(scalar @e, '>=', 1, 'replicas stopped: at least one entry listed');
cmp_ok(scalar @e, '<=', 5, 'replicas stopped: at most 5 entries');
cmp_ok($sj->{count}, '>=', scalar @writers, 'replicas stopped: count covers the three writers');
my $wm = seqno0($sj->{watermark});
cmp_ok($_->{ahead_of_watermark}, '>=', 1, "replicas stopped: entry $_->{tag} ($_->{gtid}) ahead of the watermark")
    for @e;
like($_->{gtid}, qr/^0-0-\d+$/, "replicas stopped: entry $_->{tag} has a domain-0 position") for @e;
ok(!(grep { $e[$_]{ahead_of_watermark} > $e[$_ - 1]{ahead_of_watermark} } 1 .. $#e),
   'replicas stopped: furthest ahead first');
is($e[0]{gtid}, "0-0-$last", "replicas stopped: the last writer is first, at the primary's seqno $last");
is($e[0]{ahead_of_watermark}, $last - $wm, 'replicas stopped: ahead_of_watermark is seqno minus watermark')
    if @e;
$r = ctl('sessions', 5);
note("causewayctl sessions 5 (replicas stopped):\n$r->{out}");
like($r->{out}, qr/^\s*TAG\s+AHEAD\s+GTID\s+OVERFLOW$/m, 'sessions text: entry table header');
like($r->{out}, qr/^[0-9a-f]{8}\s+[\d,]+\s+0-0-$last\s+no$/m, 'sessions text: hex tag, ahead, position');
$_->disconnect for @writers;

# The replicas catch up: the poller's sweep (about once a second) frees every entry.
$_->start_sql_thread for $topo->replicas;
my $gone = wait_until(sub { my $j = ctl_json('sessions', 5); return $j && $j->{count} == 0 && !@{ $j->{entries} } },
                      timeout => 5, interval => 0.1);
ok($gone, 'replicas caught up: entries reclaimed (count 0) within 5 s') or diag(ctl('sessions', 5)->{out});

# ------------------------------------------------------------------ errors
$r = $t->run([$ctl, '-c', $t->dir . '/nosuch.ini', 'status']);
is($r->{exit}, 1, 'a missing config file: exit 1');
is($r->{out}, '', '... nothing on stdout');
like($r->{err}, qr{^causewayctl: open \S*/nosuch\.ini: No such file or directory}, '... the error names the file');

my $other = $t->dir . '/other.ini';
my $free = free_port();
(my $text = slurp($cw->cnf)) =~ s/^listen = .*$/listen = 127.0.0.1:$free/m;
spit($other, $text);
$r = $t->run([$ctl, '-c', $other, '--json', 'replicas']);
is($r->{exit}, 1, 'no instance for this config: exit 1');
is($r->{out}, '', '... nothing on stdout');
is($r->{err}, "causewayctl: is causewayd running? no shared memory segment /causeway-$free (named by $other)\n",
   '... "is causewayd running? no shared memory segment /causeway-PORT"');

$r = ctl('bogus');
is($r->{exit}, 1, 'an unknown command: exit 1');
like($r->{err}, qr/^causewayctl: unknown command 'bogus'\nusage: causewayctl/, '... with the usage');
$r = ctl('sessions', 'many');
is($r->{exit}, 1, 'sessions N not a number: exit 1');
$r = $t->run([$ctl, '-h']);
is($r->{exit}, 0, '-h exits 0');
like($r->{out}, qr/^usage: causewayctl/, '-h prints the usage');

# ------------------------------------------------------------------ drain / undrain (issue 10 item 5)
# A drained server gets no new reads, at once, in every worker; the drain survives a reload;
# undrain gives it reads again. Reads are counted by the servers themselves (userstat rows
# read by the application's user; the poller's own queries use the monitor account).
{
    my ($r1, $r2) = $topo->replicas;
    $_->sql('SET GLOBAL userstat = 1') for $r1, $r2;
    ok($topo->wait_for_replicas(20), 'drain: replicas caught up');
    my $app_rows = sub {
        my ($s) = @_;
        my $row = $s->dbh->selectrow_arrayref(
            "SELECT ROWS_READ FROM information_schema.USER_STATISTICS WHERE USER = 'app'");
        return $row ? $row->[0] : 0;
    };
    my $reads = sub {    # 40 one-read connections (CONNECTION sessions: nothing to wait for)
        my %before = map { ($_->name => $app_rows->($_)) } $r1, $r2;
        for (1 .. 40) {
            my $dbh = $t->connect(port => $cw->port) or next;
            $dbh->selectrow_arrayref('SELECT COUNT(*) FROM test.ctl');
        }
        return { map { ($_->name => $app_rows->($_) - $before{ $_->name }) } $r1, $r2 };
    };
    my $r = ctl('drain', 'r1');
    is($r->{exit}, 0, 'drain r1 exits 0') or diag($r->{err});
    like($r->{out}, qr/^r1: drained; no new reads go to it/, 'drain r1 says what it did');
    my $j = ctl_json('replicas');
    ok(backend($j, 'r1')->{drained} && !backend($j, 'r1')->{usable}, 'replicas: r1 drained, not usable');
    ok(!backend($j, 'r2')->{drained}, 'replicas: r2 not drained');
    my $got = $reads->();
    is($got->{r1}, 0, 'drained: no read reached r1');
    cmp_ok($got->{r2}, '>', 0, "drained: reads went to r2 ($got->{r2} rows)");

    kill 'HUP', $cw->pid;
    ok(wait_until(sub { (ctl_json('status') // {})->{instance}{config_generation} == 2 }, timeout => 10),
       'reload applied');
    ok(backend(ctl_json('replicas'), 'r1')->{drained}, 'the drain survives a reload');
    $got = $reads->();
    is($got->{r1}, 0, 'after the reload: still no read on r1');

    $r = ctl('undrain', 'r1');
    is($r->{exit}, 0, 'undrain r1 exits 0');
    ok(wait_until(sub { backend(ctl_json('replicas'), 'r1')->{usable} }, timeout => 5), 'r1 usable again');
    $got = $reads->();
    cmp_ok($got->{r1}, '>', 0, "undrained: reads reach r1 again ($got->{r1} rows)");
    $r = ctl('drain', 'nosuch');
    is($r->{exit}, 1, 'drain of an unknown server: exit 1');
    like($r->{err}, qr/^causewayctl: no server named 'nosuch' in \S+ \(its servers: r1, r2, primary\)$/,
         '... naming the servers');
}

# After a clean stop the segment is gone: the same error as for any instance not running.
$t->stop_causeway($cw);
$r = ctl('status');
is($r->{exit}, 1, 'after causewayd stopped: exit 1');
is($r->{err}, "causewayctl: is causewayd running? no shared memory segment $shm (named by ${\ $cw->cnf})\n",
   '... is causewayd running?');

$t->done;
