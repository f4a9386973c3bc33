# causewayd as a daemon: -V, -t on good and bad files (file:line), a world-readable
# users_file is refused, daemon mode (-c without -f) writes its pid file, serves and cleans up
# on SIGTERM, and a worker killed with SIGKILL is replaced while new connections keep working.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use Causeway::Test;
use Causeway::Wire;

my $t = Causeway::Test->new;
$t->need_proxy('it tests the causewayd binary itself');
my $bin = Causeway::Proxy::binary();
my $dir = $t->dir;

# -V
my $r = $t->run([$bin, '-V'], timeout => 10);
is($r->{exit}, 0, 'causewayd -V exits 0');
my $version = slurp($t->root . '/VERSION') // '';
chomp $version;
like($r->{out} . $r->{err}, qr/\Q$version\E/, "causewayd -V prints the version ($version)");

my $topo = $t->topology(replicas => 2);

# A good file: the one the harness would use.
my $proto = Causeway::Proxy->new(dir => $dir, topology => $topo, name => 'check');
my $good = $proto->config_text;
spit("$dir/good.ini", $good);
$r = $t->run([$bin, '-t', '-c', "$dir/good.ini"], timeout => 10);
is($r->{exit}, 0, 'causewayd -t accepts a good file') or diag("$r->{out}$r->{err}");
my $etc = $t->root . '/etc/causeway.ini';
$r = $t->run([$bin, '-t', '-c', $etc], timeout => 10);
is($r->{exit}, 0, 'causewayd -t accepts etc/causeway.ini') or diag("$r->{out}$r->{err}");

# Bad files: the good file with one line changed or added; each must name file:line.
my @good_lines = split /\n/, $good;
my ($cw_line) = grep { $good_lines[$_] eq '[causeway]' } 0 .. $#good_lines;
my ($mon_line) = grep { $good_lines[$_] eq '[monitor]' } 0 .. $#good_lines;
sub with_line_after {    # inserts $text after 0-based line $i; returns (text, 1-based line no)
    my ($i, $text) = @_;
    my @l = @good_lines;
    splice(@l, $i + 1, 0, $text);
    return (join("\n", @l) . "\n", $i + 2);
}
sub with_line_replaced {
    my ($re, $text) = @_;
    my @l = @good_lines;
    my ($i) = grep { $l[$_] =~ $re } 0 .. $#l;
    $l[$i] = $text;
    return (join("\n", @l) . "\n", $i + 1);
}
my @bad = (
    ['an unknown key', with_line_after($cw_line, 'no_such_key = 1')],
    ['a non-numeric value', with_line_replaced(qr/^workers =/, 'workers = many')],
    ['a value out of range', with_line_replaced(qr/^workers =/, 'workers = 0')],
    ['a bad mode', with_line_replaced(qr/^mode =/, 'mode = sideways')],
    ['a bad address', with_line_replaced(qr/^listen =/, 'listen = nowhere')],
    ['a bad port', with_line_replaced(qr/^address =/, 'address = 127.0.0.1:99999')],
    ['an unknown key in [monitor]', with_line_after($mon_line, 'colour = blue')],
);
for my $b (@bad) {
    my ($what, $text, $line) = @$b;
    my $f = "$dir/bad-" . ($what =~ s/\W+/-/gr) . '.ini';
    spit($f, $text);
    $r = $t->run([$bin, '-t', '-c', $f], timeout => 10);
    isnt($r->{exit}, 0, "causewayd -t refuses $what");
    like($r->{out} . $r->{err}, qr/\Q$f\E:$line\b/, "... and names $f:$line");
}
{
    my $text = $good . "\n[nonsense]\nkey = value\n";
    my $n = scalar(@good_lines) + 2;    # the section header's line
    my $f = "$dir/bad-unknown-section.ini";
    spit($f, $text);
    $r = $t->run([$bin, '-t', '-c', $f], timeout => 10);
    isnt($r->{exit}, 0, 'causewayd -t refuses an unknown section');
    like($r->{out} . $r->{err}, qr/\Q$f\E:(?:$n|@{[$n + 1]})\b/, "... and names $f:$n (or the key's line)");
}
$r = $t->run([$bin, '-t', '-c', "$dir/no-such-file.ini"], timeout => 10);
isnt($r->{exit}, 0, 'causewayd -t refuses a missing file');
like($r->{out} . $r->{err}, qr/no-such-file\.ini/, '... and names it');
{
    my ($text, $line) = with_line_replaced(qr/^workers =/, 'workers = many');
    spit("$dir/bad-start.ini", $text);
    my $t0 = time;
    $r = $t->run([$bin, '-f', '-c', "$dir/bad-start.ini"], timeout => 10);
    isnt($r->{exit}, 0, 'causewayd -f with a bad file exits non-zero');
    ok($r->{exit} != 124 && time - $t0 < 5, '... at once');
    like($r->{out} . $r->{err}, qr/bad-start\.ini:$line\b/, '... naming file:line');
}

# users_file: refused when others can read it, accepted with mode 0600.
my $users = "$dir/users.txt";
spit($users, "app = secret\napp2 = secret2\n", 0644);
my $uf = Causeway::Proxy->new(dir => $dir, topology => $topo, name => 'usersfile',
                              config => { users => { app => undef, app2 => undef },
                                          causeway => { users_file => $users } });
spit("$dir/usersfile.ini", $uf->config_text);
$r = $t->run([$bin, '-t', '-c', "$dir/usersfile.ini"], timeout => 10);
isnt($r->{exit}, 0, 'causewayd -t refuses a world-readable users_file');
like($r->{out} . $r->{err}, qr/\Q$users\E/, '... and names the users file');
like($r->{out} . $r->{err}, qr/\(mode 0644\)/, '... and its mode in octal, as chmod takes it');
$r = $t->run([$bin, '-f', '-c', "$dir/usersfile.ini"], timeout => 10);
ok($r->{exit} != 0 && $r->{exit} != 124, 'causewayd -f refuses to start with a world-readable users_file');
chmod 0600, $users;
$r = $t->run([$bin, '-t', '-c', "$dir/usersfile.ini"], timeout => 10);
is($r->{exit}, 0, 'causewayd -t accepts the users_file with mode 0600') or diag("$r->{out}$r->{err}");

# Daemon mode, with the users_file: -c without -f returns, leaves a pid file, serves.
{
    my $pidfile = $uf->pidfile;
    my $t0 = time;
    $r = $t->run([$bin, '-c', "$dir/usersfile.ini"], timeout => 15);
    is($r->{exit}, 0, 'causewayd -c (daemon mode) returns 0') or diag("$r->{out}$r->{err}");
    cmp_ok(time - $t0, '<', 10, '... within 10 s');
    ok(wait_until(sub { -s $pidfile }, timeout => 5), 'daemon mode writes the pid file');
    my ($dpid) = (slurp($pidfile) // '') =~ /(\d+)/;
    ok($dpid && proc_alive($dpid), 'the pid in the pid file is alive');
    isnt($dpid // 0, $$, 'the daemon is not the test process');
    my @kids = $dpid ? children_of($dpid) : ();
    ok(wait_until(sub { port_accepts($uf->port) }, timeout => 10), 'the daemon listens');
    my $q = $t->mariadb(['-N', '-B', '-e', 'select current_user()'], port => $uf->port);
    is($q->{out}, "app\@%\n", 'the daemon serves app (password from the users_file)') or diag($q->{err});
    $q = $t->mariadb(['-N', '-B', '-e', 'select current_user()'], port => $uf->port, user => 'app2', password => 'secret2');
    is($q->{out}, "app2\@%\n", 'the daemon serves app2 (password from the users_file)') or diag($q->{err});
    @kids = children_of($dpid) if $dpid;
    cmp_ok(scalar @kids, '>=', 2, 'the daemon has its children (workers)');
    kill 'TERM', $dpid if $dpid;
    ok($dpid && wait_until(sub { !proc_alive($dpid) }, timeout => 10), 'SIGTERM stops the daemon within 10 s');
    ok(!-e $pidfile, 'the daemon removed its pid file');
    ok(wait_until(sub { !grep { proc_alive($_) } @kids }, timeout => 3), 'no daemon child is left');
    ok(!port_accepts($uf->port), 'nothing listens on the daemon\'s port any more');
    ok(!-e $uf->shm_path, 'the daemon removed its shm segment');
    if ($dpid && proc_alive($dpid)) { kill 'KILL', $dpid, grep { proc_alive($_) } @kids }
}

# A worker killed with SIGKILL is replaced.
my $cw = $t->causeway(config => { causeway => { workers => 2 } });
my @before = $cw->children;
cmp_ok(scalar @before, '>=', 2, 'causewayd has at least 2 children: ' . join(' ', @before));
my $w = Causeway::Wire->new(port => $cw->port);
my $lr = $w->login(user => 'app', password => 'secret', db => 'test');
is($lr->{type} eq 'err' ? "err $lr->{code} $lr->{message}" : $lr->{type}, 'ok', 'a client logs in');
my $victim = pid_of_connection($cw->port, $w->local_port, @before);
ok($victim, "found the worker serving that client: " . ($victim // 'none'));
SKIP: {
    skip('no worker found', 6) unless $victim;
    $cw->{ignore_log} = qr/\b$victim\b/;    # the supervisor may report the kill loudly
    kill 'KILL', $victim;
    ok($w->closed_within(5), 'the killed worker\'s client sees its connection closed');
    my @after;
    ok(wait_until(sub { @after = $cw->children; @after == @before && !grep { $_ == $victim } @after },
                  timeout => 10),
       'the number of children comes back (' . scalar(@before) . ') without the killed pid');
    my ($new) = grep { my $p = $_; !grep { $_ == $p } @before } @after;
    ok($new, 'a new worker process appeared: ' . ($new // 'none'));
    my $ok = 0;
    for my $i (1 .. 20) {
        my $c = eval { Causeway::Wire->new(port => $cw->port) } or next;
        my $res = $c->login(user => 'app', password => 'secret', db => 'test');
        next unless $res->{type} eq 'ok';
        my ($rr) = $c->query("SELECT $i");
        $ok++ if $rr->{type} eq 'rows' && $rr->{rows}[0][0] eq $i;
        $c->close;
    }
    is($ok, 20, '20 new connections after the kill all work');
    ok($cw->is_running, 'the supervisor is still running');
}

# An idle client stays connected while causewayd is stopped: the stop is still clean.
my $idle = Causeway::Wire->new(port => $cw->port);
$idle->login(user => 'app', password => 'secret', db => 'test');
$t->stop_causeway($cw);
ok($idle->closed_within(5), 'the idle client is disconnected by the stop');

$t->done;
