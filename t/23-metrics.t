# The admin endpoint (admin_listen): GET /metrics in the Prometheus text format (promtool
# check metrics passes, and a strict check of our own) and GET /status as JSON. During a
# sysbench point-select run the counters move, and once it ends the reads /metrics says went
# to replicas are the SELECTs the replicas ran for the application user (MariaDB's own
# USER_STATISTICS), and the read-latency histogram counts each of them. Writes followed at once
# by reads (DBD::MariaDB) fill the causal-wait histogram, a wrong password (the mariadb CLI)
# counts as an auth_failure refusal, commands are counted by command. A SIGHUP reload bumps
# causeway_config_generation and causeway_reloads_total{result="ok"} and can turn on basic
# authentication; a bad file counts as failed; etc/grafana-causeway.json queries only metrics
# /metrics serves; causewayd(8) lists exactly the families served; with admin_listen off no
# admin process runs and nothing answers.
use strict;
use warnings;
use Test::More;
use DBI;
use JSON::PP;
use HTTP::Tiny;
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(time sleep);
use lib 't/lib';
use Causeway::Test;
use Causeway::Certs;

my $t = Causeway::Test->new;
$t->need_proxy('it scrapes causewayd');
plan skip_all => 'sysbench is not installed' unless system('command -v sysbench >/dev/null') == 0;
my $promtool = `command -v promtool 2>/dev/null`;
chomp $promtool;

my $topo = $t->topology;
my $admin_port = free_port();
my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', admin_listen => "127.0.0.1:$admin_port" } });
my $http = HTTP::Tiny->new(timeout => 10);
my $base = "http://127.0.0.1:$admin_port";

sub get { my ($path, %h) = @_; return $http->get("$base$path", { headers => \%h }) }

# /metrics as { 'name{labels}' => value }, or undef (with a diagnostic).
sub scrape {
    my (%h) = @_;
    my $r = get('/metrics', %h);
    unless ($r->{success}) { diag("GET /metrics: $r->{status} $r->{reason}"); return undef }
    my %m;
    for (split /\n/, $r->{content}) {
        next if /^#/;
        my ($series, $v) = /^(\S+(?:\{.*\})?) (\S+)$/ or next;
        $m{$series} = $v;
    }
    return \%m;
}

sub sum_matching {
    my ($m, $re) = @_;
    my $s = 0;
    $s += $m->{$_} for grep { /$re/ } keys %$m;
    return $s;
}

# The exposition grammar, strictly (HELP/TYPE once per family, before its samples, samples
# of a family together, counters named *_total, escaped label values, numeric values; a
# histogram's series are NAME_bucket with an le label, NAME_sum and NAME_count).
sub exposition_problems {
    my ($text) = @_;
    my (%help, %type, %closed, @bad);
    my $cur = '';
    my $histogram = 0;
    my $label = qr/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"/;
    push @bad, 'no final newline' unless $text =~ /\n\z/;
    for my $l (split /\n/, $text) {
        if ($l =~ /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) /) {
            push @bad, "HELP twice: $l" if $help{$1}++;
            $closed{$cur} = 1 if $cur ne '' && $cur ne $1;
            push @bad, "family reopened: $l" if $closed{$1};
            $cur = $1;
        } elsif ($l =~ /^# TYPE (\S+) (counter|gauge|histogram|untyped)$/) {
            my ($name, $kind) = ($1, $2);
            push @bad, "TYPE out of place: $l" if $name ne $cur || $type{$name}++;
            push @bad, "counter not named *_total: $l" if $kind eq 'counter' && $name !~ /_total$/;
            $histogram = $kind eq 'histogram';
        } elsif ($l =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{$label(?:,$label)*\})? (?:-?\d+(?:\.\d+)?(?:e[+-]?\d+)?|NaN|[+-]Inf)$/) {
            my ($name, $labels) = ($1, $2 // '');
            my $ours = $name eq $cur
                || ($histogram && ($name eq "${cur}_sum" || $name eq "${cur}_count"
                                   || ($name eq "${cur}_bucket" && $labels =~ /\ble="/)));
            push @bad, "sample outside its family: $l" unless $ours;
        } else {
            push @bad, "bad line: $l";
        }
    }
    return @bad;
}

# ------------------------------------------------------------------ up and valid
my $ready = wait_until(sub {
    my $m = scrape() or return 0;
    # One series per server: r1, r2 and the primary (the role's entry 0 is not repeated).
    return 3 == grep { /^causeway_backend_state\{.*state="up"\}$/ && $m->{$_} == 1 } keys %$m;
}, timeout => 15, interval => 0.1);
ok($ready, 'within 15 s /metrics shows the primary and both replicas up');

my $r = get('/metrics');
is($r->{status}, 200, 'GET /metrics: 200');
like($r->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4}, 'GET /metrics: the exposition content type');
my @bad = exposition_problems($r->{content});
is(join("\n", @bad), '', 'the exposition is valid under a strict check');
SKIP: {
    skip 'promtool is not installed (Debian package prometheus)', 2 unless $promtool;
    my $p = $t->run([$promtool, 'check', 'metrics'], stdin => $r->{content}, timeout => 30);
    is($p->{exit}, 0, 'promtool check metrics exits 0') or diag("$p->{out}$p->{err}");
    is("$p->{out}$p->{err}", '', 'promtool check metrics has no lint complaint');
}
my $m = scrape();
is($m->{causeway_config_generation}, 1, 'causeway_config_generation is 1 at start');
is($m->{causeway_workers}, 2, 'causeway_workers counts the two workers');
is($m->{'causeway_processes{role="admin"}'}, 1, 'the admin process counts itself');
is($m->{'causeway_processes{role="poller"}'}, 1, 'one poller');
cmp_ok($m->{'causeway_process_resident_memory_bytes{role="worker"}'}, '>', 1 << 20, 'worker memory is reported');
is($m->{'causeway_backend_usable{backend="r1",role="replica"}'}, 1, 'r1 is usable');
cmp_ok($m->{'causeway_backend_gtid_seqno{backend="primary",role="primary",domain="0"}'} // -1, '>', 0,
       'the primary GTID seqno of domain 0 is a number');
my @admin = grep { (slurp("/proc/$_/comm") // '') =~ /^causeway-admin/ } $cw->children;
is(scalar @admin, 1, 'one child of causewayd is causeway-admin');

$r = get('/status');
is($r->{status}, 200, 'GET /status: 200');
my $st = eval { decode_json($r->{content}) };
ok($st, 'GET /status is JSON') or diag($r->{content});
is($st->{status}{instance}{supervisor_pid}, $cw->pid, '/status names the supervisor');
is(scalar @{ $st->{replicas}{backends} // [] }, 4, '/status lists the primary role and the three servers');
is($st->{replicas}{primary}{server}, 'primary', '/status names the server holding the primary role');
is(scalar @{ $st->{counters}{workers} // [] }, 2, '/status counts two workers');
is(get('/nope')->{status}, 404, 'an unknown path: 404');
is($http->post("$base/metrics")->{status}, 405, 'POST: 405');

# ------------------------------------------------------------------ counters under load
my @common = ('sysbench', 'oltp_point_select', '--db-driver=mysql', '--mysql-host=127.0.0.1',
              '--mysql-port=' . $cw->port, '--mysql-user=app', '--mysql-password=secret',
              '--mysql-db=test', '--tables=1', '--table-size=1000');
$r = $t->run([@common, 'prepare'], timeout => 120);
is($r->{exit}, 0, 'sysbench prepare') or diag("$r->{out}$r->{err}");
$topo->wait_for_replicas;
# The servers' own count of the application's SELECTs (the poller logs in as monitor).
$_->sql('SET GLOBAL userstat = 1') for $topo->servers;
sub app_selects {
    my ($s) = @_;
    return $s->value("SELECT SELECT_COMMANDS FROM information_schema.USER_STATISTICS WHERE USER = 'app'") // 0;
}
sub com_select {
    my ($s) = @_;
    return $s->value("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'COM_SELECT'");
}
my %sel0 = map { $_->name => app_selects($_) } $topo->servers;
my %com0 = map { $_->name => com_select($_) } $topo->replicas;
my $m0 = scrape();
my $out = $t->dir . '/sysbench.out';
my $bench = $t->spawn_bg([@common, '--threads=4', '--time=6', '--db-ps-mode=disable', '--report-interval=0', 'run'],
                         stdout => $out, stderr => $out);
my ($scrapes, $moved, $hist_moved, $monotonic, $scrape_ms) = (0, 0, 0, 1, 0);
my $replica_hist = qr/^causeway_read_duration_seconds_count\{target="replica"\}$/;
my $prev = $m0;
while (proc_alive($bench) && $scrapes < 200) {
    sleep 0.5;
    my $t0 = time;
    my $now = scrape() or next;
    $scrape_ms = 1000 * (time - $t0) if 1000 * (time - $t0) > $scrape_ms;
    $scrapes++;
    my $reads = sum_matching($now, qr/^causeway_routed_total\{target="replica"/);
    $moved++ if $reads > sum_matching($prev, qr/^causeway_routed_total\{target="replica"/);
    $hist_moved++ if sum_matching($now, $replica_hist) > sum_matching($prev, $replica_hist);
    for my $k (grep { /^causeway_(?:routed|commands_forwarded|client_received_bytes|commands)_total|_bucket\{/ }
               keys %$now) {
        $monotonic = 0, diag("$k went from $prev->{$k} to $now->{$k}") if ($prev->{$k} // 0) > $now->{$k};
    }
    $prev = $now;
}
my $st_bench = reap($bench, 60);
is($st_bench, 0, 'sysbench run exits 0') or diag(slurp($out));
cmp_ok($scrapes, '>=', 5, "scraped during the run ($scrapes times)");
cmp_ok($moved, '>=', $scrapes - 2, 'replica reads grew between scrapes during the run');
cmp_ok($hist_moved, '>=', $scrapes - 2, 'the replica read-latency histogram grew between scrapes during the run');
ok($monotonic, 'no counter went backwards during the run');
note(sprintf('slowest scrape during the run: %.1f ms', $scrape_ms));
cmp_ok($scrape_ms, '<', 1000, 'a scrape during the run takes under a second');

sleep 0.2;   # counters are relaxed stores; let the last ones land
my $m1 = scrape();
my %sel1 = map { $_->name => app_selects($_) } $topo->servers;
my %com1 = map { $_->name => com_select($_) } $topo->replicas;
my ($tx) = (slurp($out) // '') =~ /read:\s+(\d+)/;
my $d = sub { my ($re) = @_; sum_matching($m1, $re) - sum_matching($m0, $re) };
my $replica_reads = $d->(qr/^causeway_routed_total\{target="replica"/);
my $primary_reads = $d->(qr/^causeway_routed_total\{target="primary"/);
my $replica_selects = 0;
$replica_selects += $sel1{$_->name} - $sel0{$_->name} for $topo->replicas;
my $replica_com = 0;
$replica_com += $com1{$_->name} - $com0{$_->name} for $topo->replicas;
note("sysbench reads $tx; /metrics: replica $replica_reads, primary $primary_reads; replicas ran "
     . "$replica_selects SELECTs of app ($replica_com Com_select in all); primary ran "
     . ($sel1{primary} - $sel0{primary}) . ' SELECTs of app; '
     . join(', ', map { $_->name . ' ' . ($sel1{$_->name} - $sel0{$_->name}) } $topo->replicas));
cmp_ok($replica_reads, '>', 1000, 'more than 1,000 reads went to replicas');
is($replica_reads, $replica_selects, 'reads on replicas in /metrics = SELECTs the replicas ran for app');
cmp_ok($replica_com, '>=', $replica_selects, "and the replicas' Com_select covers them");
is($primary_reads, $sel1{primary} - $sel0{primary}, 'reads on the primary in /metrics = SELECTs it ran for app');
is($replica_reads + $primary_reads, $tx, 'every sysbench read is counted once') if defined $tx;
cmp_ok($d->(qr/^causeway_client_received_bytes_total$/), '>', 0, 'bytes from clients grew');

# The read-latency histograms: one observation per read the router routed as a read.
my $reads_by = sub {
    my ($target) = @_;
    my $n = 0;
    for my $k (keys %$m1) {
        next unless $k =~ /^causeway_routed_total\{target="$target",reason="([a-z_]+)"\}$/;
        next unless $1 =~ /^(?:replica_|primary_(?:locking_read|not_caught_up|table_full|session_unknown|progress_old)$)/;
        $n += $m1->{$k} - ($m0->{$k} // 0);
    }
    return $n;
};
for my $target (qw(replica primary)) {
    my $count = $d->(qr/^causeway_read_duration_seconds_count\{target="$target"\}$/);
    is($count, $reads_by->($target), "causeway_read_duration_seconds{target=\"$target\"} counted each $target read ($count)");
    my @le = sort { $a->[0] <=> $b->[0] }
             map { /le="([^"]+)"/; [$1 eq '+Inf' ? 9**9**9 : $1, $m1->{$_}] }
             grep { /^causeway_read_duration_seconds_bucket\{target="$target",le=/ } keys %$m1;
    is(scalar @le, 17, "$target: 16 bounds and +Inf");
    ok(!grep({ $le[$_][1] < $le[$_ - 1][1] } 1 .. $#le), "$target: buckets are cumulative");
    is(@le ? $le[-1][1] : undef, $m1->{"causeway_read_duration_seconds_count{target=\"$target\"}"},
       "$target: +Inf = _count");
}
my $replica_count = $d->($replica_hist);
my $replica_sum = $d->(qr/^causeway_read_duration_seconds_sum\{target="replica"\}$/);
my $mean_us = $replica_count ? 1e6 * $replica_sum / $replica_count : 0;
note(sprintf('mean replica read latency during the run: %.0f us over %d reads', $mean_us, $replica_count));
cmp_ok($mean_us, '>', 10, 'replica reads took more than 10 us on average');
cmp_ok($mean_us, '<', 100000, 'and less than 100 ms');
# sysbench without prepared statements sends every read as COM_QUERY.
cmp_ok($d->(qr/^causeway_commands_total\{command="query"\}$/), '>=', $tx // 1,
       'causeway_commands_total{command="query"} counted every sysbench query') if defined $tx;
is($d->(qr/^causeway_commands_total\{command="stmt_execute"\}$/), 0, 'and no COM_STMT_EXECUTE');

# ------------------------------------------------------------------ causal waits
# A read right after a write almost never finds a replica caught up (DESIGN 5): it waits.
my $w0 = scrape();
my $dbh = $t->connect;
ok($dbh, 'DBD::MariaDB connects through causeway') or diag($DBI::errstr);
$dbh->do('CREATE TABLE IF NOT EXISTS test.waits (id INT PRIMARY KEY, v INT)');
$dbh->do('REPLACE INTO test.waits VALUES (1, 0)');
my $fresh = 0;
for my $i (1 .. 40) {
    $dbh->do('UPDATE test.waits SET v = ? WHERE id = 1', undef, $i);
    my ($v) = $dbh->selectrow_array('SELECT v FROM test.waits WHERE id = 1');
    $fresh++ if defined $v && $v == $i;
}
$dbh->disconnect;
is($fresh, 40, 'every read after its write saw it');
sleep 0.2;
my $w1 = scrape();
my $wd = sub { my ($re) = @_; sum_matching($w1, $re) - sum_matching($w0, $re) };
my $waits = $wd->(qr/^causeway_causal_waits_total$/);
note("causal waits: $waits of 40 reads");
cmp_ok($waits, '>', 0, 'some reads after a write waited for a replica');
is($wd->(qr/^causeway_causal_wait_duration_seconds_count$/), $waits,
   'the causal-wait histogram has one observation per wait');
is(sprintf('%.6f', $wd->(qr/^causeway_causal_wait_duration_seconds_sum$/)),
   sprintf('%.6f', $wd->(qr/^causeway_causal_wait_seconds_total$/)), 'its _sum is the wait-time counter');
# DBD::MariaDB sends a few queries of its own at connect: at least ours.
cmp_ok($wd->(qr/^causeway_commands_total\{command="query"\}$/), '>=', 2 + 80,
       'causeway_commands_total counted the 82 COM_QUERY');
# DBD::MariaDB ends with COM_QUIT.
is($wd->(qr/^causeway_commands_total\{command="quit"\}$/), 1, 'and one COM_QUIT');

# ------------------------------------------------------------------ refusals, and their log lines limited
# 20 wrong passwords at once from 127.0.0.1 (the mariadb CLI): each is counted; each worker
# logs at most 5 "authentication failed" lines per address in 10 s, and when that window
# ends a "N similar messages suppressed" line accounts for the rest.
my $bad = $t->run_parallel(60, map { my $i = $_; ("bad$i" => sub { $t->mariadb(['-e', 'SELECT 1'], password => 'wrong') }) }
                           1 .. 20);
is(scalar(grep { ($_->{exit} // 0) != 0 } values %$bad), 20, '20 wrong passwords are refused');
ok(wait_until(sub { my $x = scrape(); $x && ($x->{'causeway_client_refusals_total{reason="auth_failure"}'} // 0) == 20 },
              timeout => 5, interval => 0.1),
   'causeway_client_refusals_total{reason="auth_failure"} is 20');
my $auth_lines = sub { scalar(() = $cw->log_text =~ /\] notice: \S+\@127\.0\.0\.1:\d+ #\d+: authentication failed for user 'app'/g) };
my $suppressed = sub {
    my $n = 0;
    $n += $_ for $cw->log_text =~ /notice: 127\.0\.0\.1: (\d+) similar messages suppressed \(authentication failed\)/g;
    return $n;
};
cmp_ok($auth_lines->(), '<=', 10, 'at most 5 lines per worker (' . $auth_lines->() . ' logged)');
ok(wait_until(sub { $auth_lines->() + $suppressed->() == 20 }, timeout => 15, interval => 0.2),
   'after the 10 s window the suppressed-lines summary accounts for the other ' . (20 - $auth_lines->()));

# ------------------------------------------------------------------ restarts, and causewayctl agrees
my $pre = eval { decode_json(get('/status')->{content}) } // {};
my ($victim) = map { $_->{pid} } grep { $_->{running} } @{ $pre->{counters}{workers} // [] };
my $poller_pid = $pre->{counters}{poller}{pid};
ok($victim && $poller_pid, "a worker ($victim) and the poller ($poller_pid) to kill");
$cw->{ignore_log} = qr/\b(?:$victim|$poller_pid)\b/;    # the supervisor reports the kills loudly
my $cpu_before = scrape()->{'causeway_process_cpu_seconds_total{role="worker"}'} // 0;
kill 'KILL', $victim, $poller_pid;
ok(wait_until(sub {
    my $x = scrape() or return 0;
    return ($x->{'causeway_process_restarts_total{role="worker"}'} // 0) == 1
        && ($x->{'causeway_process_restarts_total{role="poller"}'} // 0) == 1
        && $x->{causeway_workers} == 2 && $x->{causeway_poller_running} == 1;
}, timeout => 20, interval => 0.2), 'causeway_process_restarts_total counts the worker and the poller respawned');
my $cpu_after = scrape()->{'causeway_process_cpu_seconds_total{role="worker"}'} // 0;
cmp_ok($cpu_after, '>=', $cpu_before, "the workers' CPU counter does not fall when one exits ($cpu_before s, then $cpu_after s)");
# The admin process (it serves this endpoint): the one child that is neither a worker nor the poller.
my $now = eval { decode_json(get('/status')->{content}) } // {};
my %known = map { $_->{pid} => 1 } @{ $now->{counters}{workers} // [] };
$known{ $now->{counters}{poller}{pid} // 0 } = 1;
my ($admin_pid) = grep { !$known{$_} } $cw->children;
ok($admin_pid, "the admin process ($admin_pid) to kill");
$cw->{ignore_log} = qr/\b(?:$victim|$poller_pid|$admin_pid)\b/;
kill 'KILL', $admin_pid;
ok(wait_until(sub { my $x = scrape() or return 0; ($x->{'causeway_process_restarts_total{role="admin"}'} // 0) == 1 },
              timeout => 20, interval => 0.2), 'and counts the admin process respawned, once it serves again');
my $ctl = $t->run([$t->root . '/bin/causewayctl', '-c', $cw->cnf, '--json', 'counters'], timeout => 20);
my $cj = eval { decode_json($ctl->{out}) } // {};
is($cj->{supervisor}{admin_restarts}, 1, 'causewayctl counters --json: supervisor.admin_restarts 1');
is($cj->{supervisor}{worker_restarts}, 1, 'causewayctl counters --json: supervisor.worker_restarts 1');
is($cj->{total}{refused}{auth_failure}, 20, 'causewayctl counters --json: total.refused.auth_failure 20');
cmp_ok($cj->{total}{latency}{read_replica}{count} // 0, '>=', $replica_count, 'and the replica read-latency count');
cmp_ok($cj->{total}{commands}{query} // 0, '>', 0, 'and commands by command');
my $ctl_text = $t->run([$t->root . '/bin/causewayctl', '-c', $cw->cnf, 'counters'], timeout => 20)->{out};
like($ctl_text, qr/^restarts\s+1 workers, 1 pollers, 1 admin$/m, 'causewayctl counters prints the restarts');

# ------------------------------------------------------------------ the manual lists what is served
my %listed = map { $_ => 1 } slurp($t->root . '/man/causewayd.8') =~ /^\.It Sy (causeway_[a-z0-9_]+) Pq /mg;
my %types = get('/metrics')->{content} =~ /^# TYPE (\S+) (\S+)$/mg;
is(join(' ', grep { !$listed{$_} } sort keys %types), '', 'causewayd(8) lists every family /metrics serves');
my $man = slurp($t->root . '/man/causewayd.8');
is(join(' ', grep { $man !~ /^\.It Sy \Q$_\E Pq $types{$_}\b/m } sort keys %types), '',
   'with the type /metrics gives it');

# ------------------------------------------------------------------ grafana
my $dash = eval { decode_json(slurp($t->root . '/etc/grafana-causeway.json')) };
ok($dash && @{ $dash->{panels} // [] }, 'etc/grafana-causeway.json is JSON with panels') or diag($@);
my (%queried, %served);
for my $p (@{ $dash->{panels} // [] }) {
    for my $q (@{ $p->{targets} // [] }) { $queried{$_} = 1 for ($q->{expr} // '') =~ /\b(causeway_[a-z0-9_]+)/g }
}
$queried{$_} = 1 for map { ($_->{query} // '') =~ /\b(causeway_[a-z0-9_]+)/g } @{ $dash->{templating}{list} // [] };
my %family_type = get('/metrics')->{content} =~ /^# TYPE (\S+) (\S+)$/mg;
for my $f (keys %family_type) {
    $served{$f} = 1;
    $served{"${f}_$_"} = 1 for $family_type{$f} eq 'histogram' ? qw(bucket sum count) : ();
}
cmp_ok(scalar keys %queried, '>=', 10, 'the dashboard queries at least 10 metrics');
ok($queried{causeway_read_duration_seconds_bucket} && $queried{causeway_causal_wait_duration_seconds_bucket},
   'the dashboard has quantile panels for both histograms');
is(join(' ', grep { !$served{$_} } sort keys %queried), '', 'every metric the dashboard queries is served');

# ------------------------------------------------------------------ reload and authentication
my $hash = `openssl passwd -6 -salt causeway s3cret`;
chomp $hash;
(my $cnf = slurp($cw->cnf)) =~ s/^(admin_listen = .*)$/$1\nadmin_user = ops\nadmin_password_hash = $hash/m;
spit($cw->cnf, $cnf);
kill 'HUP', $cw->pid;
my $auth = 'Basic ' . encode_base64('ops:s3cret', '');
ok(wait_until(sub { my $x = scrape(Authorization => $auth); $x && $x->{causeway_config_generation} == 2 },
              timeout => 15, interval => 0.1),
   'after SIGHUP causeway_config_generation is 2 (with the new credentials)');
ok(wait_until(sub { my $x = scrape(Authorization => $auth); $x && $x->{'causeway_reloads_total{result="ok"}'} == 1 },
              timeout => 15, interval => 0.1),
   'causeway_reloads_total{result="ok"} is 1 once the new generation took over');
my $good_cnf = slurp($cw->cnf);
spit($cw->cnf, "$good_cnf\nthis line is not ini\n");
kill 'HUP', $cw->pid;
ok(wait_until(sub { my $x = scrape(Authorization => $auth); $x && $x->{'causeway_reloads_total{result="failed"}'} == 1 },
              timeout => 15, interval => 0.1),
   'a reload of a bad file: causeway_reloads_total{result="failed"} is 1');
is(scrape(Authorization => $auth)->{causeway_config_generation}, 2, 'and the generation stays 2');
spit($cw->cnf, $good_cnf);
$r = get('/metrics');
is($r->{status}, 401, 'without credentials: 401');
like($r->{headers}{'www-authenticate'} // '', qr/^Basic realm="causeway"/, 'with a Basic challenge');
is(get('/status', Authorization => 'Basic ' . encode_base64('ops:wrong', ''))->{status}, 401,
   'a wrong password: 401');
is(get('/status', Authorization => $auth)->{status}, 200, 'the right one: 200');
like($cw->log_text, qr/\[admin\] warning: admin request from 127\.0\.0\.1:\d+: wrong user or password/,
     'the refused login is logged with its address');
@admin = grep { (slurp("/proc/$_/comm") // '') =~ /^causeway-admin/ } $cw->children;
is(scalar @admin, 1, 'one admin process after the reload');
$t->stop_causeway($cw);

# ------------------------------------------------------------------ HTTPS
# With client TLS configured the endpoint serves HTTPS only, with that certificate
# (admin_tls = on, the default); admin_tls = off serves plain HTTP again after a reload.
SKIP: {
    skip('curl is not installed', 6) unless system('command -v curl >/dev/null') == 0;
    my $ca = Causeway::Certs->new(dir => $t->dir, name => 'admin-ca');
    my ($cert, $key) = $ca->server('admin');
    my $tls_port = free_port();
    my $cwt = $t->causeway(config => { causeway => { mode => 'smartscale', admin_listen => "127.0.0.1:$tls_port",
                                                      tls_cert => $cert, tls_key => $key } });
    my $curl = sub {
        my ($url, @extra) = @_;
        return $t->run(['curl', '-sS', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', @extra, $url],
                       timeout => 15);
    };
    my $ok = wait_until(sub { $curl->("https://127.0.0.1:$tls_port/metrics", '--cacert', $ca->ca_file)->{out} eq '200' },
                        timeout => 10, interval => 0.1);
    ok($ok, 'HTTPS /metrics: 200 with the CA that signed the client TLS certificate');
    my $body = $t->run(['curl', '-sS', '--max-time', '5', '--cacert', $ca->ca_file,
                        "https://127.0.0.1:$tls_port/metrics"], timeout => 15)->{out};
    like($body, qr/^causeway_config_generation 1$/m, 'HTTPS serves the exposition');
    isnt($curl->("https://127.0.0.1:$tls_port/metrics")->{out}, '200', 'without the CA curl refuses the certificate');
    isnt($curl->("http://127.0.0.1:$tls_port/metrics")->{out}, '200', 'plain HTTP gets no answer');
    like($cwt->log_text, qr/serving \/metrics and \/status on 127\.0\.0\.1:$tls_port over HTTPS/, 'logged as HTTPS');
    spit($cwt->cnf, slurp($cwt->cnf) =~ s/^\[causeway\]$/[causeway]\nadmin_tls = off/mr);
    kill 'HUP', $cwt->pid;
    ok(wait_until(sub { $curl->("http://127.0.0.1:$tls_port/metrics")->{out} eq '200' }, timeout => 15, interval => 0.2),
       'admin_tls = off after a reload: plain HTTP');
    $t->stop_causeway($cwt);
}

# ------------------------------------------------------------------ off
my $cw2 = $t->causeway(config => { causeway => { mode => 'smartscale' } });
sleep 0.5;
is(scalar(grep { (slurp("/proc/$_/comm") // '') =~ /^causeway-admin/ } $cw2->children), 0,
   'admin_listen off: no admin process');
ok(!port_accepts($admin_port), 'admin_listen off: the old admin port does not answer');
is(scalar($cw2->children), 3, 'admin_listen off: two workers and the poller, nothing else');

$t->done;
