# The shared-memory segment as an attack surface (issue 9, items 7 and 9): created mode 0600
# (0640 and the group with shm_group), causewayctl says clearly when it may not read it, a
# name another user created first is reported (or, as root, replaced), and garbage written
# into the live segment's header makes the supervisor recreate it and restart its children:
# no crash, no crash loop, clients served again.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use Fcntl qw(O_WRONLY);
use lib 't/lib';
use Causeway::Test;
use Causeway::Util qw(wait_until spit slurp);

my $t = Causeway::Test->new;
$t->need_proxy('the segment is causewayd\'s');
plan skip_all => 'needs root (other users, chown)' unless $> == 0;
my $nobody = getpwnam('nobody');
my $nogroup = getgrnam('nogroup') // getgrnam('nobody');
plan skip_all => 'needs the user nobody and group nogroup' unless defined $nobody && defined $nogroup;
my $dir = $t->dir;
chmod 0755, $dir;
my $topo = $t->topology(replicas => 1);
my $ctl = $t->root . '/bin/causewayctl';
my $replica = ($topo->replicas)[0];

sub select_one {
    my ($cw) = @_;
    my $dbh = $t->connect(port => $cw->port) or return undef;
    my ($v) = $dbh->selectrow_array('SELECT 7');
    return $v;
}

# ------------------------------------------------------------------ mode and owner
my $cw = $t->causeway(config => { causeway => { workers => 2, mode => 'smartscale' } });
my @st = stat($cw->shm_path);
is(sprintf('%04o', $st[2] & 07777), '0600', 'segment mode 0600');
is($st[4], 0, 'segment owned by the user causewayd runs as');
# causewayctl run by another user cannot read it, and says why.
chmod 0644, $cw->cnf;
my $r = $t->run(['setpriv', "--reuid=$nobody", "--regid=$nogroup", '--clear-groups', $ctl, '-c', $cw->cnf,
                 'status'], timeout => 20);
isnt($r->{exit}, 0, 'causewayctl as another user: fails');
like($r->{err}, qr/permission denied \(run as causewayd's user or group\)/, 'and says it may not read the segment');

# ------------------------------------------------------------------ garbage in the live header
{
    is(select_one($cw), 7, 'served before the damage');
    my @before = $cw->children;
    open(my $fh, '+<', $cw->shm_path) or die "open segment: $!";
    binmode $fh;
    my $garbage = join('', map { chr(int(rand(256))) } 1 .. 4096);
    sysseek($fh, 0, 0);
    syswrite($fh, $garbage);
    close $fh;
    my $t0 = time;
    ok(wait_until(sub { $cw->log_text =~ /recreating it and restarting every child/ }, timeout => 5),
       'the supervisor notices the damaged header');
    note(sprintf('noticed after %.2f s', time - $t0));
    ok(wait_until(sub { (select_one($cw) // 0) == 7 }, timeout => 10), 'clients are served again');
    ok($cw->is_running, 'the supervisor is alive');
    my %old = map { $_ => 1 } @before;
    ok(wait_until(sub { !grep { $old{$_} } $cw->children }, timeout => 10), 'the old children have exited');
    my @after = $cw->children;
    sleep 2.5;
    is(join(' ', sort $cw->children), join(' ', sort @after), 'no crash loop: the new children stay');
    ok(@after >= 3 && !grep({ $old{$_} } @after), 'every child was restarted on the new segment');
    unlike($cw->log_text, qr/killed by signal (Segmentation|Bus|Aborted)/, 'no child crashed');
    $t->log_is_clean($cw, 'after the damage');
    is(scalar(() = $cw->log_text =~ /recreating it and restarting every child/g), 1, 'recreated once');
    my $st = $t->run([$ctl, '-c', $cw->cnf, 'status'], timeout => 20);
    is($st->{exit}, 0, 'causewayctl reads the new segment');
    # Routing is still safe: a write then an immediate read of it, with the replica lagging.
    my $dbh = $t->connect(port => $cw->port);
    $dbh->do('CREATE TABLE IF NOT EXISTS test.seg (id INT PRIMARY KEY, v INT)');
    $replica->stop_sql_thread;
    $dbh->do('REPLACE INTO test.seg VALUES (1, 42)');
    my ($v) = $dbh->selectrow_array('SELECT v FROM test.seg WHERE id = 1');
    is($v, 42, 'read-your-write after the recreation (replica lagging): not stale');
    $replica->start_sql_thread;
}
$t->stop_causeway($cw);

# ------------------------------------------------------------------ shm_group
{
    my $g = $t->causeway(config => { causeway => { workers => 1, shm_group => 'nogroup' } });
    my @s = stat($g->shm_path);
    is(sprintf('%04o', $s[2] & 07777), '0640', 'shm_group: segment mode 0640');
    is($s[5], $nogroup, 'shm_group: segment group is nogroup');
    # causewayctl reads the configuration too: readable by the group, as an operator would set it.
    chown -1, $nogroup, $g->cnf;
    chmod 0640, $g->cnf;
    my $r2 = $t->run(['setpriv', "--reuid=$nobody", "--regid=$nogroup", '--clear-groups', $ctl, '-c', $g->cnf,
                      'status'], timeout => 20);
    is($r2->{exit}, 0, 'shm_group: causewayctl as a member of the group reads it');
    $t->stop_causeway($g);
}

# ------------------------------------------------------------------ user = nobody
{
    chmod 0777, $dir;    # the pid file is removed at stop by the user
    my $u = $t->causeway(config => { causeway => { workers => 2, user => 'nobody' } });
    my $uid_of = sub { my ($pid) = @_; my ($uid) = (slurp("/proc/$pid/status") // '') =~ /^Uid:\s+\d+\s+(\d+)/m; $uid };
    is($uid_of->($u->pid), $nobody, 'user = nobody: the supervisor runs as nobody');
    my @kids = $u->children;
    is(join(' ', map { $uid_of->($_) } @kids), join(' ', ($nobody) x @kids), 'and every child');
    is((stat($u->shm_path))[4], $nobody, 'the segment belongs to nobody');
    is(select_one($u), 7, 'clients are served');
    $t->stop_causeway($u);
    chmod 0755, $dir;
}

# ------------------------------------------------------------------ a name taken first
{
    # As root: a name another user created first is replaced by causewayd's own.
    my $name = "/causeway-taken-$$";
    my $path = "/dev/shm$name";
    spit($path, 'x' x 100);
    chown $nobody, $nogroup, $path;
    chmod 0666, $path;
    my $p = $t->causeway(config => { causeway => { workers => 1, shm_name => $name } });
    my @s = stat($path);
    is($s[4], 0, 'root: a name pre-created by nobody is replaced by a root-owned segment');
    is(sprintf('%04o', $s[2] & 07777), '0600', 'root: and it is mode 0600');
    $t->stop_causeway($p);

    # Not root: a name root created first is reported with its owner.
    spit($path, 'x' x 100);
    chmod 0644, $path;
    my $cnf = "$dir/taken.ini";
    my $text = $p->config_text;
    $text =~ s{pid_file = .*}{pid_file = $dir/taken.pid};
    spit($cnf, $text);
    chmod 0644, $cnf;
    chmod 0777, $dir;
    my $r3 = $t->run(['setpriv', "--reuid=$nobody", "--regid=$nogroup", '--clear-groups', $t->root . '/bin/causewayd',
                      '-f', '-c', $cnf], timeout => 20);
    isnt($r3->{exit}, 0, 'not root: causewayd does not start on a name taken by another user');
    like($r3->{err}, qr/already exists and belongs to uid 0, not to causewayd's user .*another user created it first/,
         'and names the owner');
    unlink $path;
}

$t->done;
