# The fast part of the driver matrix (`make compat` runs all of it, t/compat/README): PHP PDO
# with native prepares, Connector/J (with server prepares) and Node `mariadb` run
# t/compat/steps.tsv directly against the primary and through Causeway in smartscale and bridge
# mode; their outputs must be byte for byte the same. Differences listed in
# t/compat/known-failures (known Causeway bugs) are TODO tests.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use Causeway::Test;
use Causeway::Util qw(slurp spit);

my $t = Causeway::Test->new;
$t->need_proxy('compares Causeway with the primary');
my $topo = $t->topology(replicas => 1);
my %port = (direct => $topo->primary->port);
for my $mode (qw(smartscale bridge)) {
    my $cw = $t->causeway(name => "causeway-$mode",
                          config => { causeway => { mode => $mode, session_id => 'CONNECTION' } });
    $port{$mode} = $cw->port;
}

my %known;
for (split /\n/, slurp('t/compat/known-failures') // '') {
    $known{"$1 $2"} = $3 if /^(\S+)\s+(\S+)\s+(.*)$/ && !/^\s*#/;
}
my $jar = '/usr/share/java/mariadb-java-client.jar';
my %drivers = (
    'php-pdo-native'     => ['php', '-d', 'mysqlnd.net_read_timeout=10', 't/compat/php.php', 'pdo-native'],
    'connectorj-srvprep' => ['java', '-cp', $jar, 't/compat/Compat.java', 'server-prepare'],
    'node-mariadb'       => ['node', 't/compat/node.js'],
);
for my $d (sort keys %drivers) {
    my %out;
    for my $how (qw(direct smartscale bridge)) {
        my $r = $t->run([ @{ $drivers{$d} }, '127.0.0.1', $port{$how} ], timeout => 120,
                        env => { COMPAT_STEPS => $t->root . '/t/compat/steps.tsv', COMPAT_TMP => $t->dir });
        $out{$how} = $r->{out} . ($r->{exit} ? "exit status $r->{exit}\n$r->{err}" : '');
    }
    like($out{direct}, qr/^end$/m, "$d: the direct run finishes") or diag(substr($out{direct}, -2000));
    for my $mode (qw(smartscale bridge)) {
        local $TODO = $known{"$d $mode"} ? "known bug: $known{\"$d $mode\"}" : undef;
        my $same = $out{$mode} eq $out{direct};
        ok($same, "$d through Causeway ($mode) prints what it prints directly") or do {
            spit($t->dir . "/$d.$_", $out{$_}) for 'direct', $mode;
            my @d = split /\n/, $t->run([ "diff", "-a", "-U1", map { $t->dir . "/$d.$_" } "direct", $mode ])->{out};
            diag(join "\n", grep { defined } @d[2 .. 14]);
        };
    }
}

$t->done;
