#!/usr/bin/perl
# Backend connections per 1,000 mostly idle clients (issue 12 items 1 and 4): 1,000 clients
# (raw protocol, t/lib/Causeway/Wire.pm, one process) log in through Causeway with a default
# database, each runs one primary-key read and then sits idle; the servers' own
# Threads_connected (minus what they showed before: the poller's and replication's threads)
# says how many server connections Causeway holds for them. Once with pool_mode = session,
# once with pool_mode = statement (workers = 2), plus the time the 1,000 logins and
# reads took; and first what pool_mode = statement costs one busy client per read.
# Writes t/bench/results/idle_backends.md.
#   perl t/bench/idle_backends.pl   (BENCH_IDLE_CLIENTS=n, default 1000)
use strict;
use warnings;
use lib 't/lib', 't/bench';
use POSIX qw(strftime);
use Time::HiRes qw(time);
use Causeway::Test;
use Causeway::Wire;
use IdleClients;

my $n = $ENV{BENCH_IDLE_CLIENTS} // 1000;
my $t = Causeway::Test->new(name => 'bench-idle-backends');
my $topo = $t->topology(flush_log => 2);
my $primary = $topo->primary;
$primary->sql($_) for ('CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)',
                       'INSERT INTO test.t SELECT seq, seq FROM test.seq_1_to_1000');
$_->sql('SET GLOBAL max_connections = ' . (2 * $n + 100)) for $topo->servers;
$topo->wait_for_replicas(30);

sub threads_connected {
    my ($s) = @_;
    return $s->value("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'THREADS_CONNECTED'");
}

my %cw = map {
    $_ => $t->causeway(config => { causeway => { mode => 'smartscale', log_level => 'notice', pool_mode => $_,
                                                 max_connections => 2 * $n } })
} qw(session statement);
for my $cw (values %cw) {   # settle: the poller has reported the replicas, so reads leave the primary
    my $probe = $t->connect(port => $cw->port);
    for (1 .. 40) { $probe->selectrow_array('SELECT v FROM t WHERE id = 1'); select(undef, undef, undef, 0.05) }
    $probe->disconnect;
}

# What giving a connection back after each statement costs a busy client: one connection,
# $reads primary-key reads (replicas), alternating, three rounds; median microseconds per read.
my $reads = $ENV{BENCH_IDLE_READS} // 3000;
my (%per_read, %extra);
# A status counter summed over the replicas.
sub replica_status {
    my ($name) = @_;
    my $v = 0;
    $v += $_->value("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = '" . uc($name) . "'")
        for $topo->replicas;
    return $v;
}
for my $round (1 .. 3) {
    for my $mode ($round % 2 ? qw(session statement) : qw(statement session)) {
        my $h = $t->connect(port => $cw{$mode}->port);
        my $sth = $h->prepare('SELECT v FROM t WHERE id = ?');
        my %c0 = map { $_ => replica_status($_) } qw(Com_change_db Com_select);
        my $t0 = time;
        for my $i (1 .. $reads) { $sth->execute(1 + $i % 1000); $sth->fetchrow_arrayref; $sth->finish }
        push @{ $per_read{$mode} }, (time - $t0) * 1e6 / $reads;
        $extra{$mode} = join(', ', map { sprintf('%s %.2f', $_, (replica_status($_) - $c0{$_}) / $reads) }
                                   qw(Com_change_db Com_select));
        $h->disconnect;
    }
}
sub median { my @v = sort { $a <=> $b } @_; return $v[$#v / 2] }
printf "one busy client, %d reads: session %.0f us/read, statement %.0f us/read (medians of 3)\n", $reads,
    median(@{ $per_read{session} }), median(@{ $per_read{statement} });
print "replica commands per read, last round: $_: $extra{$_}\n" for sort keys %extra;

my @rows;
for my $mode (qw(session statement)) {
    my $cw = $cw{$mode};
    select(undef, undef, undef, 0.5);
    my %before = map { $_->name => threads_connected($_) } $topo->servers;
    my $t0 = time;
    my $o = IdleClients::open_clients(port => $cw->port, count => $n, db => 'test', timeout => 300);
    die "opening $n clients: $o->{error}\n" if $o->{opened} < $n;
    my $failed = 0;
    my $i = 0;
    for my $w (@{ $o->{clients} }) {
        $w->command(Causeway::Wire::COM_QUERY(), 'SELECT v FROM t WHERE id = ' . (1 + $i++ % 1000));
        my $r = $w->read_response;
        $failed++ unless $r->{type} eq 'rows';
    }
    my $secs = time - $t0;
    select(undef, undef, undef, 0.5);
    my %held = map { $_->name => threads_connected($_) - $before{ $_->name } } $topo->servers;
    push @rows, { mode => $mode, held => \%held, failed => $failed, secs => $secs };
    printf "pool_mode = %-9s %d clients: %s; %d reads failed; %.1f s\n", $mode, $n,
        join(', ', map { "$_ $held{$_}" } sort keys %held), $failed, $secs;
    IdleClients::close_clients($o->{clients});
}

my @servers = map { $_->name } $topo->servers;
my $out = "# Backend connections per $n idle clients\n\n"
    . strftime('%Y-%m-%d %H:%M UTC', gmtime) . ', load ' . (split ' ', `cat /proc/loadavg`)[0] . "\n\n"
    . "$n clients log in through Causeway (2 workers) with database test, run one primary-key read each and stay "
    . "connected; server connections held for them (Threads_connected after minus before) per server.\n\n"
    . '| pool_mode | ' . join(' | ', @servers) . " | total | per 1,000 clients | failed reads | logins + reads |\n"
    . '|---|' . join('', map { '---|' } @servers) . "---|---|---|---|\n";
for my $r (@rows) {
    my $total = 0;
    $total += $_ for values %{ $r->{held} };
    $out .= "| $r->{mode} | " . join(' | ', map { $r->{held}{$_} } @servers)
          . sprintf(" | %d | %.0f | %d | %.1f s |\n", $total, $total * 1000 / $n, $r->{failed}, $r->{secs});
}
$out .= sprintf("\nOne busy client (DBD::MariaDB, text protocol), %d primary-key reads on replicas, "
              . "medians of 3 alternating rounds: pool_mode = session %.0f us per read, statement %.0f us per read "
              . "(each read takes a pooled replica connection, kept unreset for a client with the same session state, else reset and its database selected again).\n",
                $reads, median(@{ $per_read{session} }), median(@{ $per_read{statement} }))
    . join('', map { "Replica commands per read ($_): $extra{$_}.\n" } sort keys %extra);
print "\n$out";
if (open my $f, '>', 't/bench/results/idle_backends.md') { print $f $out; close $f }
$t->done;
