# A ~200 MB result set streams through the proxy without the proxy holding it: the resident
# memory (VmRSS) of every causewayd child (workers and poller: PPid = the supervisor) grows by
# at most 8 MB, both for a fast reader (mariadb --quick) and for a reader that stops reading
# for 2 s mid-result (the proxy must stop reading the server, not buffer).
# Pages of the shared segment (RssShmem) are left out of the growth: the poller first touches
# the fixed-size session table (~20 MB) at a moment unrelated to the stream, and those pages
# are bounded by the config, not by the result set. Private memory (VmRSS - RssShmem) is what
# a buffering proxy would grow.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use Causeway::Test;
use Causeway::Wire qw(COM_QUERY);

my $t = Causeway::Test->new;
my $topo = $t->topology;
my $cw = $t->causeway;
my $port = $cw->port;
my $LIMIT_KB = 8 * 1024;
my $ROWS = 200_000;
my $SQL = "SELECT REPEAT('x', 1000) FROM seq_1_to_$ROWS";

# Private resident memory of each child: VmRSS less the shared-memory pages,
# both from one read of /proc/PID/status (two reads race with the poller's
# first sweep of the session table, which faults in shared pages).
sub private_kb {
    my ($pid) = @_;
    my $status = slurp("/proc/$pid/status") // '';
    my ($rss) = $status =~ /^VmRSS:\s+(\d+)/m;
    my ($shm) = $status =~ /^RssShmem:\s+(\d+)/m;
    return ($rss // 0) - ($shm // 0);
}
sub rss_all {
    return { map { ($_ => private_kb($_)) } $cw->children };
}

sub check_growth {
    my ($what, $base, $peak) = @_;
    return if $cw->direct;
    return note("$what: memory bound not checked under AddressSanitizer (its quarantine keeps freed memory)")
        if Causeway::Proxy::sanitized();
    for my $pid (sort keys %$base) {
        my $grew = ($peak->{$pid} // 0) - $base->{$pid};
        cmp_ok($grew, '<=', $LIMIT_KB,
               "$what: causewayd child $pid grew by $grew kB (VmRSS - RssShmem, from $base->{$pid} kB), at most $LIMIT_KB kB");
    }
}

# Samples every child's VmRSS until $done->() is true (bounded); returns the peaks.
sub sample_until {
    my ($done, $timeout) = @_;
    my %peak;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        my $now = rss_all();
        for (keys %$now) { $peak{$_} = $now->{$_} if ($peak{$_} // 0) < $now->{$_} }
        last if $done->();
        sleep 0.02;
    }
    return \%peak;
}

# Warm up both workers with a few small queries and a short stream.
for (1 .. 10) { $t->mariadb(['-N', '-B', '-e', "SELECT REPEAT('w', 1000) FROM seq_1_to_2000"]) }
my $base = rss_all();
unless ($cw->direct) {
    cmp_ok(scalar keys %$base, '>=', 2, 'causewayd has at least 2 children (workers)');
    note('baseline VmRSS - RssShmem (kB): ' . join(', ', map { "$_=$base->{$_}" } sort keys %$base));
}

# A fast reader: the mariadb CLI with --quick (no client-side buffering), rows counted by wc.
my $count_file = $t->dir . '/stream.count';
my $t0 = time;
my $pid = $t->spawn_bg(['sh', '-c', "mariadb --no-defaults -h127.0.0.1 -P$port -uapp -psecret --quick "
                        . "-N -B -e \"$SQL\" test | wc -lc > $count_file"]);
my $peak = sample_until(sub { waitpid($pid, POSIX::WNOHANG()) == $pid }, 120);
my $took = time - $t0;
my ($lines, $bytes) = split ' ', slurp($count_file) // '0 0';
is($lines, $ROWS, "mariadb --quick received all $ROWS rows");
is($bytes, $ROWS * 1001, '... that is 200,200,000 bytes of text');
note(sprintf('fast reader: %.1f s, %.0f MB/s', $took, $bytes / 1e6 / ($took || 1)));
check_growth('fast reader', $base, $peak);

# A reader that stalls: the raw client reads 1,000 rows, stops reading for 2 s, then reads
# the rest packet by packet, counting rows.
my $w = Causeway::Wire->new(port => $port, timeout => 30);
my $lr = $w->login(user => 'app', password => 'secret', db => 'test');
is($lr->{type} eq 'err' ? "err $lr->{code} $lr->{message}" : $lr->{type}, 'ok', 'raw client logs in');
$base = rss_all();
$w->command(COM_QUERY, $SQL);
my $colcount = $w->read_packet;
is(defined $colcount && ord($colcount), 1, 'the result set has one column');
$w->read_packet for 1 .. 2;    # the column definition and its EOF
my ($rows, $end, $stall_peak, $rest_peak) = (0, 'time-out', {}, {});
my $deadline = time + 120;
my $last_sample = 0;
while (time < $deadline) {
    my $pk = $w->read_packet(30);
    unless (defined $pk) { $end = 'closed'; last }
    if (ord($pk) == 0xfe && length $pk < 9) { $end = 'eof'; last }
    if (ord($pk) == 0xff) { $end = 'err'; last }
    $rows++;
    if ($rows == 1000) {
        my $until = time + 2;
        $stall_peak = sample_until(sub { time >= $until }, 3);
    }
    if (time - $last_sample > 0.05) {
        my $now = rss_all();
        for (keys %$now) { $rest_peak->{$_} = $now->{$_} if ($rest_peak->{$_} // 0) < $now->{$_} }
        $last_sample = time;
    }
}
check_growth('reader stalled for 2 s after 1,000 rows', $base, $stall_peak);
is($end, 'eof', 'the raw reader reached the end of the result set');
is($rows, $ROWS, "the raw reader counted all $ROWS rows");
check_growth('raw reader after the stall, to the end', $base, $rest_peak);
my ($after) = $w->query('SELECT 1');
is($after->{type} eq 'rows' && $after->{rows}[0][0], 1, 'the connection works after the stream');
$w->close;

$t->done;
