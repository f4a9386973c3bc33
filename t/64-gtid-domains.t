# More GTID domains than the session table tracks one by one (issue 9 item 9, the last
# finding). Causeway runs with max_gtid_domains = 3 (domain 0 from the floor and the first
# two a write names); per session mode (CONNECTION, USER, DATABASE, PROVIDED_IN_DBNAME), one
# causewayd each, all at once, the replicas applying in parallel (slave_parallel_threads = 4:
# domains then apply out of order, each at its own pace):
#  - a writer session loops SET gtid_domain_id = N (N over 12 domains: more than this
#    capacity and than the 8 the old fixed directory held), UPDATE, then SELECT on the same
#    connection: no stale read. Each domain writes its own row: domains are independent
#    streams (a replica applying in parallel may apply two domains' writes of one row in
#    either order, and then differs from the primary: the application's contract, not ours);
#  - a bystander session (another user, database and session id) writes and reads in
#    domain 0 at the same time: its reads keep going to the replicas;
#  - once the replicas have applied the writes, the writer's reads go to the replicas again.
# Where each read ran comes from the servers (test.marker names the server). Before the fix,
# the first write in a 9th domain sent every read of every session to the primary for good.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;
use Causeway::Util qw(spit);
use JSON::PP ();
use Time::HiRes qw(time sleep);

my $t = Causeway::Test->new;
$t->need_proxy('read/write splitting');
my $topo = $t->topology(replica_extra => { slave_parallel_threads => 4, slave_parallel_mode => 'optimistic' });
my $primary = $topo->primary;
my %is_replica = map { $_->name => 1 } $topo->replicas;

my @MODES = qw(CONNECTION USER DATABASE PROVIDED_IN_DBNAME);
my %ROW = (CONNECTION => 100, USER => 200, DATABASE => 300, PROVIDED_IN_DBNAME => 400);   # + the domain
my @DOMAINS = (1 .. 12);
my $CAPACITY = 3;

$primary->sql($_) for (
    'CREATE DATABASE other',
    'CREATE TABLE test.t (id INT PRIMARY KEY, v INT NOT NULL)',
    'INSERT INTO test.t SELECT seq, 0 FROM test.seq_1_to_500',
    'CREATE TABLE other.t (id INT PRIMARY KEY, v INT NOT NULL)',
    'INSERT INTO other.t SELECT seq, 0 FROM test.seq_1_to_500',
    map { ("CREATE USER '$_'\@'%' IDENTIFIED BY 'pw'", "GRANT ALL PRIVILEGES ON *.* TO '$_'\@'%'",
           "REVOKE READ_ONLY ADMIN ON *.* FROM '$_'\@'%'") } map { ("w_\L$_", "b_\L$_") } @MODES,
);
$topo->add_markers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');

# The binary under test may predate max_gtid_domains (CAUSEWAY_BIN=an older causewayd, to
# show the old behaviour): it is then left out, and the old fixed limit (8) applies.
my $probe = $t->dir . '/probe.ini';
spit($probe, "[monitor]\nmax_gtid_domains = $CAPACITY\n");
my $knows_key = ($t->run([Causeway::Proxy::binary(), '-t', '-c', $probe], timeout => 10)->{err} // '')
    !~ /max_gtid_domains/;
note($knows_key ? "max_gtid_domains = $CAPACITY" : 'this causewayd has no max_gtid_domains: its own limit applies');

my %cw;
for my $m (@MODES) {
    $cw{$m} = $t->causeway(config => {
        causeway => { mode => 'smartscale', session_id => $m },
        ($knows_key ? (monitor => { max_gtid_domains => $CAPACITY }) : ()),
        users    => { map { ("w_\L$m" => 'pw', "b_\L$m" => 'pw') } $m } });
}

# One session: $n write-then-read round trips (domain from $domains->($i)), then a pause for
# the replicas to apply everything, then $reads reads alone. Reports stale reads and where
# the reads of each part ran.
sub client {
    my (%o) = @_;
    my %r = (done => 0, stale => 0, errors => 0, a_replica => 0, b_replica => 0, b_done => 0);
    my $dbh = $t->connect(port => $o{port}, user => $o{user}, password => 'pw', db => $o{db})
        or return { %r, error => "connect as $o{user} to '$o{db}': $DBI::err $DBI::errstr" };
    my $sel = $dbh->prepare('SELECT t.v, m.name FROM t JOIN test.marker m WHERE t.id = ?');
    my $read = sub {
        my ($row) = @_;
        my $ok = $sel->execute($row);
        my @row = $ok ? $sel->fetchrow_array : ();
        $sel->finish;
        return $ok ? @row : ();
    };
    my ($last, $last_row) = (0, $o{row});
    for my $i (1 .. $o{n}) {
        if (time > $o{deadline}) { $r{timed_out} = 1; last }
        my $d = $o{domains}->($i);
        if (!$dbh->do("SET SESSION gtid_domain_id = $d")) {
            $r{errors}++;
            $r{first_error} //= "SET gtid_domain_id = $d: ERR $DBI::err $DBI::errstr";
            next;
        }
        my $v = $o{base} + $i;
        my $row = $o{row} + $d;
        my $rows = $dbh->do('UPDATE t SET v = ? WHERE id = ?', undef, $v, $row);
        if (!$rows || $rows != 1) {
            $r{errors}++;
            $r{first_error} //= "UPDATE #$i: " . ($DBI::err ? "ERR $DBI::err $DBI::errstr" : "affected $rows");
            next;
        }
        ($last, $last_row) = ($v, $row);
        my ($got, $server) = $read->($row);
        if (!defined $server) {
            $r{errors}++;
            $r{first_error} //= "SELECT #$i: ERR $DBI::err $DBI::errstr";
            next;
        }
        if ($got != $v) {
            $r{stale}++;
            $r{first_stale} //= "round trip #$i (domain $d): wrote $v, read $got on $server";
        }
        $r{a_replica}++ if $is_replica{$server};
        $r{done}++;
    }
    sleep 1.5;   # the replicas apply in ms; a poll interval is 10 ms
    for my $i (1 .. $o{reads}) {
        my ($got, $server) = $read->($last_row);
        if (!defined $server) {
            $r{errors}++;
            $r{first_error} //= "read-only #$i: ERR $DBI::err $DBI::errstr";
            next;
        }
        if ($got != $last) {
            $r{stale}++;
            $r{first_stale} //= "read-only #$i: wrote $last, read $got on $server";
        }
        $r{b_replica}++ if $is_replica{$server};
        $r{b_done}++;
        sleep 0.002;
    }
    $dbh->disconnect;
    return \%r;
}

my ($N, $READS, $SECONDS) = (240, 100, 60);
my %jobs;
for my $m (@MODES) {
    my $port = $cw{$m}->port;
    my $p = $m eq 'PROVIDED_IN_DBNAME';
    $jobs{"writer $m"} = sub {
        client(port => $port, user => "w_\L$m", db => $p ? 'test?sessionId=w' : 'test', row => $ROW{$m},
               n => $N, reads => $READS, base => 100000, deadline => time + $SECONDS,
               domains => sub { $DOMAINS[ $_[0] % @DOMAINS ] });
    };
    $jobs{"bystander $m"} = sub {
        client(port => $port, user => "b_\L$m", db => $p ? 'other?sessionId=b' : 'other', row => $ROW{$m},
               n => $N, reads => $READS, base => 200000, deadline => time + $SECONDS, domains => sub { 0 });
    };
}
my $res = $t->run_parallel($SECONDS + 30, %jobs);

for my $m (@MODES) {
    for my $who ('writer', 'bystander') {
        my $r = $res->{"$who $m"};
        my $label = "$m, $who";
        next unless is($r->{error} // '', '', "$label: client connected and ran");
        is($r->{done}, $N, "$label: $N write-then-read round trips") or diag("completed $r->{done}");
        is($r->{errors}, 0, "$label: no error") or diag($r->{first_error});
        is($r->{stale}, 0, "$label: no stale read") or diag($r->{first_stale});
        note(sprintf('%s: replicas served %d of %d read-backs, then %d of %d reads alone', $label,
                     $r->{a_replica}, $r->{done}, $r->{b_replica}, $r->{b_done}));
        if ($who eq 'bystander') {
            # Its writes are all in domain 0: the writer's domains must not cost it its replicas.
            cmp_ok($r->{a_replica}, '>=', $N / 4, "$label: at least a quarter of its read-backs are served by "
                   . 'replicas while another session writes in 12 domains');
        }
        # Once the replicas have applied everything, every session reads from them again.
        cmp_ok($r->{b_replica}, '>=', $r->{b_done} * 3 / 4, "$label: its reads go back to the replicas once "
               . 'they have applied its writes');
    }
}

# The replicas have every domain the writers used, and the operator was told of the limit.
my $pos = $primary->value('SELECT @@gtid_binlog_pos');
my $domains = scalar(my @d = split /,/, $pos);
cmp_ok($domains, '>=', 13, "the primary's position names domain 0 and the 12 written ($pos)");
if ($knows_key) {
    for my $m (@MODES) {
        like($cw{$m}->log_text, qr/more than max_gtid_domains = $CAPACITY/, "$m: the poller warned of the limit");
        my $c = $t->run([ $t->root . '/bin/causewayctl', '-c', $cw{$m}->cnf, '--json', 'status' ], timeout => 20);
        my $j = eval { JSON::PP::decode_json($c->{out}) } // {};
        cmp_ok($j->{sessions}{stats}{updates_untracked} // 0, '>', 0,
               "$m: causewayctl counts the writes in untracked domains");
        cmp_ok($j->{poller}{domain_limit_polls} // 0, '>', 0, "$m: causewayctl counts the polls past the limit");
    }
}

$t->log_is_clean($cw{$_}, $_) for @MODES;
$t->done;
