# [users] and users_file may hold mysql_native_password hashes ("*" + 40 hex, as in
# mysql.user) instead of clear passwords: clients log in with the password, and Causeway logs
# in to the primary and the replicas as them with SHA1(password) taken from the client's own
# token (it never knows the password). Wrong passwords are refused as before; causewayd -t
# warns about the clear ones; neither passwords nor hashes reach the log.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha1 sha1_hex);
use lib 't/lib';
use Causeway::Test;
use Causeway::Util qw(spit wait_until);

my $t = Causeway::Test->new;
$t->need_proxy('hashed [users] entries are causewayd\'s');
my $topo = $t->topology;
my $p = $topo->primary;
my $hash = '*' . uc sha1_hex(sha1('secret'));
is($p->value("SELECT PASSWORD('secret')"), $hash, 'the hash is the server\'s PASSWORD()');

my $cw = $t->causeway(config => { causeway => { mode => 'direct', log_level => 'debug' },
                                   users => { app => $hash, app2 => undef } });
my $primary_id = $p->value('SELECT @@server_id');

my $r = $t->mariadb(['-N', '-e', 'SELECT CURRENT_USER()']);
is($r->{exit}, 0, 'mariadb CLI logs in as a user stored as a hash') or diag($r->{err});
my $dbh = $t->connect;
ok($dbh, 'DBD::MariaDB logs in too') or diag($DBI::errstr);
if ($dbh) {
    ok($dbh->do('CREATE TABLE IF NOT EXISTS test.h (id INT PRIMARY KEY)') && $dbh->do('REPLACE INTO test.h VALUES (1)'),
       'a write ran on the primary');
    # Direct mode sends plain reads to a replica once the poller has seen one up: Causeway
    # must log in there as app with the credential it derived from the client's token.
    ok(wait_until(sub { $dbh->selectrow_array('SELECT id FROM test.h');
                        $cw->log_text =~ /app\@\S+ #\d+: backend 'r\d' \(\S+\) ready/ }, timeout => 10),
       'a read logged in to a replica as app with the derived credential');
    my ($u) = $dbh->selectrow_array('SELECT CURRENT_USER()');
    is($u, 'app@%', 'the servers see user app');
}
$r = $t->mariadb(['-e', 'SELECT 1'], password => 'wrong');
like($r->{err}, qr/ERROR 1045 \(28000\)/, 'a wrong password is refused with 1045');
$r = $t->mariadb(['-e', 'SELECT 1'], password => '');
like($r->{err}, qr/ERROR 1045/, 'an empty password too');
$r = $t->mariadb(['-N', '-e', 'SELECT CURRENT_USER()'], user => 'app2', password => 'secret2');
like($r->{err}, qr/ERROR 1045/, 'a user not in [users] is refused');

# The same from a users_file, with a clear entry beside it.
my $uf = $t->dir . '/users';
spit($uf, "app = $hash\napp2 = secret2\n");
chmod 0600, $uf;
my $cw2 = $t->causeway(config => { causeway => { users_file => $uf }, users => { app => undef, app2 => undef } });
$r = $t->mariadb(['-N', '-e', 'SELECT 7'], port => $cw2->port);
like($r->{out}, qr/^7$/m, 'users_file with a hash: logged in and served');
$r = $t->mariadb(['-N', '-e', 'SELECT 8'], port => $cw2->port, user => 'app2', password => 'secret2');
like($r->{out}, qr/^8$/m, 'a clear entry beside it still works');
$r = $t->run([$t->root . '/bin/causewayd', '-t', '-c', $cw2->cnf]);
is($r->{exit}, 0, 'causewayd -t accepts the file');
like($r->{err}, qr/warning: clear-text passwords for: app2;/, 'and warns about the clear password of app2 only');

# The configuration file holds the monitor's password: readable by everyone
# is warned about, by -t and in the log of a reload; a users_file that another
# user owns is refused.
my $mode = (stat $cw2->cnf)[2] & 07777;
chmod 0644, $cw2->cnf;
$r = $t->run([$t->root . '/bin/causewayd', '-t', '-c', $cw2->cnf]);
like($r->{err}, qr/warning: \S+ holds passwords and every local user may read it \(mode 0644\)/,
     'a world-readable configuration that holds passwords is warned about');
kill "HUP", $cw2->pid;
ok(wait_until(sub { $cw2->log_text =~ /warning: reload: \S+ holds passwords and every local user may read it/ }, timeout => 10),
   'and the reload logs the warning');
chmod $mode, $cw2->cnf;
SKIP: {
    skip 'giving a file to another user takes root', 1 if $> != 0;
    chown 65534, 65534, $uf;
    $r = $t->run([$t->root . '/bin/causewayd', '-t', '-c', $cw2->cnf]);
    like($r->{err}, qr/users: owned by uid 65534, not by root or the user causewayd runs as/,
         'a users_file owned by another user is refused');
    chown 0, 0, $uf;
}

for my $proxy ($cw, $cw2) {
    my $log = $proxy->log_text;
    ok(index($log, $hash) < 0 && index($log, substr($hash, 1)) < 0, 'the hash is not in the log');
    ok($log !~ /secret/, 'no password is in the log');
}
$t->done;
