# Backend TLS (backend_tls = off | on | verify, backend_tls_ca, [backend_tls] per server): the
# servers run with certificates made here, and the accounts app and monitor REQUIRE SSL, so a
# login in clear is refused by the servers themselves. With backend_tls = on the workers' and
# the poller's connections use TLS (the servers report a cipher for them); verify checks the
# chain against backend_tls_ca and the server's address against the certificate's IP
# subjectAltName (the replicas' certificates name another host, so only a per-server override
# lets them in). A CA that did not sign the certificate, and a server that offers no TLS at
# all, fail the connection with a logged reason and backend_tls_failures counted, never a
# fallback to clear text.
use strict;
use warnings;
use Test::More;
use JSON::PP qw(decode_json);
use lib 't/lib';
use Causeway::Test;
use Causeway::Certs;
use Causeway::Util qw(wait_until slurp spit);

my $t = Causeway::Test->new;
$t->need_proxy('backend TLS is causewayd\'s');
my $dir = $t->dir;
my $ca = Causeway::Certs->new(dir => $dir, name => 'ca');
my $other_ca = Causeway::Certs->new(dir => $dir, name => 'otherca');
my ($pcert, $pkey) = $ca->server('primary-cert');
my ($rcert, $rkey) = $ca->server('replica-cert', san => 'DNS:replica.invalid');
my $topo = $t->topology(
    primary_extra => { ssl_cert => $pcert, ssl_key => $pkey, ssl_ca => $ca->ca_file },
    replica_extra => { ssl_cert => $rcert, ssl_key => $rkey, ssl_ca => $ca->ca_file });
my $p = $topo->primary;
# Replicated: every server refuses these two accounts without TLS.
$p->sql("ALTER USER 'app'\@'%' REQUIRE SSL");
$p->sql("ALTER USER 'monitor'\@'%' REQUIRE SSL");
$topo->wait_for_replicas(30);
$topo->add_markers;   # SELECT name FROM marker: which server answered
my %server_of = map { $_->server_id => $_->name } $topo->servers;
my $ctl = $t->root . '/bin/causewayctl';

sub ctl_json {
    my ($cw, @args) = @_;
    my $r = $t->run([$ctl, '-c', $cw->cnf, '--json', @args], timeout => 20);
    return eval { decode_json($r->{out}) } // {};
}
sub tls_failures { ctl_json($_[0], 'counters')->{total}{counters}{backend_tls_failures} // -1 }
sub state_of {
    my ($cw, $name) = @_;
    my ($b) = grep { $_->{name} eq $name } @{ ctl_json($cw, 'replicas')->{backends} // [] };
    return $b ? $b->{state} // '' : '';
}
sub replicas_up { my $cw = shift; return wait_until(sub { !grep { state_of($cw, $_->name) ne 'up' } $topo->replicas }, timeout => 15) }

# Bridge mode without [monitor]: no poller, so the workers' own logins to the [primary] are what
# is tested (with a poller that cannot log in either, the primary counts as down and clients
# are refused before any worker connects).
sub workers_only { my %c = @_; return (causeway => { mode => 'bridge', %c }, monitor => { user => undef, password => undef }) }

# Which server answered and the cipher of the connection it answered on ('' in clear).
my $probe = "SELECT \@\@server_id, (SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS "
          . "WHERE VARIABLE_NAME = 'SSL_CIPHER')";

# ------------------------------------------------------------------ off: the control
{
    my $cw = $t->causeway(config => { workers_only(backend_tls => 'off') });
    my $r = $t->mariadb(['-N', '-e', 'SELECT 1']);
    isnt($r->{exit}, 0, 'backend_tls = off: the servers refuse app (REQUIRE SSL) in clear');
    like($r->{err}, qr/1045|Access denied/, 'off: the server\'s own ERR 1045 reaches the client');
    # SIGHUP: the next generation's connections use TLS. A CA that does not load is refused
    # first, keeping the running configuration.
    (my $text = slurp($cw->cnf)) =~ s/^backend_tls = off$/backend_tls = verify\nbackend_tls_ca = $dir\/missing.pem/m;
    spit($cw->cnf, $text);
    kill 'HUP', $cw->pid;
    ok(wait_until(sub { $cw->log_text =~ /reload: backend_tls_ca: CA \S+missing\.pem: .*keeping the running configuration/ },
                  timeout => 10), 'reload with a backend_tls_ca that does not load: refused, named');
    $text =~ s/missing\.pem/ca.pem/;
    spit($cw->cnf, $text);
    kill 'HUP', $cw->pid;
    ok(wait_until(sub { $cw->log_text =~ /generation 2 is accepting/ }, timeout => 15), 'reload to backend_tls = verify');
    $r = $t->mariadb(['-N', '-e', 'SELECT 1']);
    is($r->{exit}, 0, 'after the reload the same proxy logs in to the primary over verified TLS') or diag($r->{err});
    $t->stop_causeway($cw);
}

# ------------------------------------------------------------------ on: workers and poller
{
    my $cw = $t->causeway(config => { causeway => { backend_tls => 'on', mode => 'direct',
                                                      tls_cert => $pcert, tls_key => $pkey } });
    ok(replicas_up($cw), 'on: the poller logs in to every replica as monitor (REQUIRE SSL) over TLS');
    # TLS on both sides of the proxy at once: a verified client session, relayed over TLS.
    my $r = $t->mariadb(['--ssl', '--ssl-ca=' . $ca->ca_file, '--ssl-verify-server-cert', '-N', '-e',
                         "SELECT name, LENGTH(REPEAT('z', 1000000)) FROM marker"]);
    is($r->{exit}, 0, 'on: a client over verified TLS through a proxy with backend TLS') or diag($r->{err});
    like($r->{out}, qr/^\w+\t1000000$/m, 'on: its answer arrives whole');
    my $dbh = $t->connect;
    ok($dbh, 'on: DBD::MariaDB logs in through Causeway') or diag($DBI::errstr);
    if ($dbh) {
        my ($sid, $cipher) = $dbh->selectrow_array("$probe FOR UPDATE");
        is($server_of{$sid // 0} // '', 'primary', 'on: a locking read runs on the primary');
        like($cipher // '', qr/\S/, "on: the primary's connection is encrypted (" . ($cipher // 'none') . ')');
        # The replicas refuse app in clear (REQUIRE SSL): a read they answered came over TLS.
        ok(wait_until(sub { (($dbh->selectrow_array('SELECT name FROM marker'))[0] // '') =~ /^r\d$/ },
                      timeout => 5, interval => 0.05), 'on: plain reads run on a replica, so over TLS');
        my %seen;
        $seen{ ($dbh->selectrow_array('SELECT name FROM marker'))[0] // '?' }++ for 1 .. 20;
        is(join(' ', grep { !/^r\d$/ } sort keys %seen), '', 'on: every plain read then ran on a replica');
        # Many TLS records each way through the relay.
        my ($big) = $dbh->selectrow_array("SELECT REPEAT('abcdefgh', 500000)");
        is(length($big // ''), 4000000, 'on: a 4 MB value arrives whole over backend TLS');
        my ($echo) = $dbh->selectrow_array('SELECT LENGTH(?)', undef, 'y' x 2000000);
        is($echo, 2000000, 'on: a 2 MB parameter goes out whole');
        $dbh->disconnect;
    }
    is(tls_failures($cw), 0, 'on: no backend TLS failure counted');
    $t->stop_causeway($cw);
}

# ------------------------------------------------------------------ verify
{
    # The replicas' certificates do not name 127.0.0.1: only their override lets them in.
    my $cw = $t->causeway(config => { causeway => { backend_tls => 'verify', backend_tls_ca => $ca->ca_file,
                                                      mode => 'direct' },
                                       backend_tls => { r1 => 'on', r2 => 'on' } });
    ok(replicas_up($cw), 'verify, replicas overridden to on: the poller reaches them');
    my $r = $t->mariadb(['-N', '-e', "$probe FOR UPDATE"]);
    is($r->{exit}, 0, 'verify: the primary\'s certificate (CA, IP subjectAltName) is accepted') or diag($r->{err});
    like($r->{out}, qr/^1\t\S+/, 'verify: the primary answers over TLS');
    is(tls_failures($cw), 0, 'verify: no failure counted');
    $t->stop_causeway($cw);

    $cw = $t->causeway(config => { causeway => { backend_tls => 'verify', backend_tls_ca => $ca->ca_file,
                                                   mode => 'direct' } });
    ok(wait_until(sub { $cw->log_text =~ /r1 \(127\.0\.0\.1:\d+\).*IP address mismatch/ }, timeout => 10),
       'verify: a replica whose certificate names another host is refused, and the log says why');
    isnt(state_of($cw, 'r1'), 'up', 'verify: that replica is not up');
    my %seen;
    for (1 .. 10) {
        my $q = $t->mariadb(['-N', '-e', 'SELECT @@server_id']);
        $seen{ $server_of{ ($q->{out} // '') =~ /(\d+)/ ? $1 : 0 } // '?' }++;
    }
    is(join(' ', sort keys %seen), 'primary', 'verify: reads go to the primary, none to an unverified replica');
    $t->stop_causeway($cw);

    $cw = $t->causeway(config => { workers_only(backend_tls => 'verify', backend_tls_ca => $other_ca->ca_file) });
    $r = $t->mariadb(['-N', '-e', 'SELECT 1']);
    isnt($r->{exit}, 0, 'verify with a CA that did not sign the certificate: the client gets an error');
    like($cw->log_text, qr/backend 'primary' \(127\.0\.0\.1:\d+\): TLS: .*certificate verify failed/,
         'the log names the server and the failed certificate check');
    cmp_ok(tls_failures($cw), '>', 0, 'the failure is counted in backend_tls_failures');
    $t->stop_causeway($cw);
}

# ------------------------------------------------------------------ a server without TLS
{
    # The primary restarts without certificates (MariaDB then offers no TLS) and lets app in
    # clear: a fallback to clear text would now succeed, so a refusal proves there is none.
    $p->stop;
    $p->{extra} = {};
    $p->start;
    $p->sql('SET SESSION sql_log_bin = 0');
    $p->sql("ALTER USER 'app'\@'%' REQUIRE NONE");
    $p->sql("ALTER USER 'monitor'\@'%' REQUIRE NONE");
    is($p->value("SELECT \@\@have_ssl"), 'DISABLED', 'the primary now offers no TLS');
    my $cw = $t->causeway(config => { causeway => { backend_tls => 'on' } });
    ok(wait_until(sub { $cw->log_text =~ /\[poller\] warning: primary \(127\.0\.0\.1:\d+\) is down: the server does not offer TLS/ },
                  timeout => 10), 'on, server without TLS: the poller does not log in to it, and says why');
    $t->stop_causeway($cw);
    $cw = $t->causeway(config => { workers_only(backend_tls => 'on') });
    my $r = $t->mariadb(['-N', '-e', 'SELECT 1']);
    isnt($r->{exit}, 0, 'on, server without TLS: the client gets an error, not a session in clear');
    like($cw->log_text, qr/backend 'primary' \(127\.0\.0\.1:\d+\): the server does not offer TLS/,
         'the worker logs that the server does not offer TLS');
    cmp_ok(tls_failures($cw), '>', 0, 'the refusal is counted in backend_tls_failures');
    $t->stop_causeway($cw);

    # The same server with backend_tls = off for it alone: the per-server override.
    $cw = $t->causeway(config => { causeway => { backend_tls => 'on' }, backend_tls => { primary => 'off' } });
    $r = $t->mariadb(['-N', '-e', 'SELECT 1']);
    is($r->{exit}, 0, '[backend_tls] primary = off: that server is used in clear') or diag($r->{err});
    ok(replicas_up($cw), '... while the poller reaches the replicas over TLS');
}

$t->done;
