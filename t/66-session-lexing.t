# A statement must be read the way the server will read it, or a write can hide inside what
# looks like one string and go to a replica (found in review; the raw protocol shows it byte
# for byte). Three session states change where a server's string ends:
#  - sql_mode NO_BACKSLASH_ESCAPES: 'a\' is a whole string, so
#    `SELECT 'a\'; INSERT ...; SELECT 1 -- '` is three statements, one of them a write (read
#    with backslash escapes it is one SELECT of one string);
#  - the same mode as the primary's global sql_mode (new sessions start with it);
#  - a client character set (gbk, big5, cp932, sjis) in which 0x5C is the second byte of a
#    character: 'x<0xBF 0x5C>' ends at the quote after it.
# Each multi-statement must run its write on the primary (directly: three answers, no error),
# and a plain read of such a session must still run on a replica.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep);
use lib 't/lib';
use Causeway::Test;
use Causeway::Wire;
use Causeway::Util qw(wait_until);

my $t = Causeway::Test->new;
$t->need_proxy('compares where Causeway routes with what the server runs');
my $topo = $t->topology;
my $p = $topo->primary;
$p->sql('CREATE TABLE test.lx (id INT PRIMARY KEY)');
$topo->add_markers;
ok($topo->wait_for_replicas(30), 'replicas caught up with the set-up');
# No pool: a pooled server session keeps the global sql_mode of its last reset (causeway.ini(5),
# pool_max_idle_per_server), and the global case below changes it.
my $cw = $t->causeway(config => { causeway => { mode => 'smartscale', session_id => 'CONNECTION',
                                               pool_max_idle_per_server => 0 } });
my %replica = map { $_->name => 1 } $topo->replicas;

sub client {
    my (%o) = @_;
    my $w = Causeway::Wire->new(port => $o{port} // $cw->port, timeout => 10);
    my $r = $w->login(user => 'app', password => 'secret', db => 'test', charset => $o{charset} // 45);
    die "login failed: " . ($r->{message} // $r->{type}) . "\n" unless $r->{type} eq 'ok';
    return $w;
}

# The answers to one multi-statement, as "rows,ok,rows" or with the error: "rows,err 1290".
sub answers {
    my ($w, $sql) = @_;
    return join ',', map { $_->{type} eq 'err' ? "err $_->{code}" : $_->{type} } $w->query($sql);
}

# Where a plain read of the session runs once the replicas have its write (until then the
# primary rightly serves it).
sub where_read_runs {
    my ($w) = @_;
    $topo->wait_for_replicas(30);
    my $name = '';
    wait_until(sub {
        my ($r) = $w->query('SELECT name FROM marker');
        $name = $r->{type} eq 'rows' ? $r->{rows}[0][0] : "($r->{type})";
        $replica{$name};
    }, timeout => 5);
    return $name;
}

# Runs `$sql` (writes row $id) through Causeway on $w and directly on a fresh direct client
# made by $direct; both must give the same answers, and the row must be on the primary.
sub same_as_direct {
    my ($what, $w, $direct, $sql, $id) = @_;
    my $d = answers($direct, $sql =~ s/\b$id\b/$id + 1000/er);
    is($d, 'rows,ok,rows', "$what: directly, three statements") or return;
    is(answers($w, $sql), $d, "$what: through Causeway the same answers (the write ran on the primary)");
    is($p->value('SELECT COUNT(*) FROM test.lx WHERE id = ?', $id), 1, "$what: row $id is on the primary");
}

# Read with backslash escapes, everything from 'a to the last quote is one string: a read.
my $hidden = sub { my ($id) = @_; "SELECT 'a\\'; INSERT INTO lx VALUES ($id); SELECT 1 -- '" };

# ---- sql_mode NO_BACKSLASH_ESCAPES set by the session: plain SET, and through EXECUTE
for my $form (['SET', "SET sql_mode = 'NO_BACKSLASH_ESCAPES'"],
              ['PREPARE/EXECUTE', "PREPARE s FROM 'SET sql_mode = ''NO_BACKSLASH_ESCAPES'''; EXECUTE s"]) {
    my ($name, $set) = @{$form};
    my $id = $name eq 'SET' ? 1 : 2;
    my ($w, $direct) = (client(), client(port => $p->port));
    unlike(answers($_, $set), qr/err/, "$name NO_BACKSLASH_ESCAPES") for $w, $direct;
    same_as_direct("NO_BACKSLASH_ESCAPES by $name", $w, $direct, $hidden->($id), $id);
    ok($replica{ where_read_runs($w) }, "NO_BACKSLASH_ESCAPES by $name: a plain read still runs on a replica");
}

# ---- SET STATEMENT sql_mode = ... FOR: the value holds for that statement only
{
    my ($w, $direct) = (client(), client(port => $p->port));
    my %id = ($w => 7, $direct => 1007);
    for my $c ($w, $direct) {
        for my $sql ("SET sql_mode = 'NO_BACKSLASH_ESCAPES'", "SET STATEMENT sql_mode = '' FOR INSERT INTO lx VALUES ($id{$c})") {
            unlike(answers($c, $sql), qr/err/, $sql =~ s/\d+\)$/N)/r);
        }
    }
    same_as_direct("NO_BACKSLASH_ESCAPES after SET STATEMENT sql_mode = '' FOR", $w, $direct, $hidden->(6), 6);
}

# ---- the primary's global sql_mode: a new session starts with it
my $global = $p->value('SELECT @@global.sql_mode');
$p->sql("SET GLOBAL sql_mode = CONCAT(\@\@global.sql_mode, ',NO_BACKSLASH_ESCAPES')");
sleep 1;    # many poll rounds: the poller reads the global sql_mode with the positions
{
    my ($w, $direct) = (client(), client(port => $p->port));
    same_as_direct('global NO_BACKSLASH_ESCAPES', $w, $direct, $hidden->(3), 3);
    ok($replica{ where_read_runs($w) }, 'global NO_BACKSLASH_ESCAPES: a plain read still runs on a replica');
}
# The replicas kept their own global sql_mode: a read of a session that sets none runs there with
# it. Causeway cannot change it, and says so.
ok(wait_until(sub { $cw->log_text =~ /global sql_mode '[^']*' differs from the primary's '[^']*NO_BACKSLASH_ESCAPES/ },
              timeout => 10), 'a replica whose global sql_mode differs from the primary\'s is warned about');
$p->sql('SET GLOBAL sql_mode = ?', $global);
sleep 1;
like($cw->log_text, qr/global sql_mode is the primary's again/, 'and noted when it is the same again');
{
    my $w = client();
    is(answers($w, "SELECT 'a\\'b' AS q"), 'rows', 'the global mode back to default: backslash escapes again');
}

# ---- a character set in which 0x5C ends a character: at login (gbk_chinese_ci, 28) and by SET NAMES
my $gbk = sub { my ($id) = @_; "SELECT 'x\xbf\x5c'; INSERT INTO lx VALUES ($id); SELECT 1 -- '" };
{
    my ($w, $direct) = (client(charset => 28), client(port => $p->port, charset => 28));
    same_as_direct('gbk at login', $w, $direct, $gbk->(4), 4);
    ok($replica{ where_read_runs($w) }, 'gbk at login: a plain read still runs on a replica');
}
{
    my ($w, $direct) = (client(), client(port => $p->port));
    unlike(answers($_, 'SET NAMES gbk'), qr/err/, 'SET NAMES gbk') for $w, $direct;
    same_as_direct('SET NAMES gbk', $w, $direct, $gbk->(5), 5);
}

$t->done;
