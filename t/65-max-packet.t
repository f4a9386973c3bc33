# max_packet (issue 9 item 4): client commands up to it are read whole and
# routed (a long read goes to a replica); a larger one streams to the primary
# as it arrives, so what one client makes a worker buffer is bounded by it.
# Two proxies over one topology, the default and max_packet = 64 KiB, are sent
# the same 200 KB read and the same 200 KB write.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;

my $t = Causeway::Test->new;
$t->need_proxy('max_packet is causewayd\'s');
my $topo = $t->topology;
my %is_replica = map { $_->name => 1 } $topo->replicas;
$topo->primary->sql('CREATE TABLE test.big (id INT PRIMARY KEY, v LONGTEXT)');
$topo->add_markers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');
my %mode = (mode => 'smartscale', session_id => 'CONNECTION');
my $default = $t->causeway(config => { causeway => {%mode} });
my $small = $t->causeway(config => { causeway => { %mode, max_packet => 65536 } });

my $pad = 'x' x 200_000;
my $read = "SELECT name FROM marker WHERE '$pad' <> ''";
for my $case ([$default, 'default (1 MiB)', 1], [$small, '64 KiB', 0]) {
    my ($cw, $label, $to_replica) = @$case;
    my $dbh = $t->connect(port => $cw->port);
    ok($dbh, "$label: connected") or next;
    my ($where) = $dbh->selectrow_array($read);
    if ($to_replica) {
        ok($is_replica{ $where // '' }, "$label: a 200 KB read is read whole and served by a replica ($where)");
    } else {
        is($where, 'primary', "$label: a 200 KB read streams to the primary");
    }
    my $id = $to_replica ? 1 : 2;
    ok($dbh->do("INSERT INTO big VALUES ($id, '$pad')"), "$label: a 200 KB write runs");
    my ($len) = $dbh->selectrow_array("SELECT LENGTH(v) FROM big WHERE id = $id");
    is($len, 200_000, "$label: and reads back whole (read-your-writes)");
    $dbh->disconnect;
}
$t->done;
