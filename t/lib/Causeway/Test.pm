package Causeway::Test;
# The integration-test harness: every t/*.t does
#   use Test::More; use lib 't/lib'; use Causeway::Test;
#   my $t = Causeway::Test->new;            # scratch dir t/tmp/<test>-<pid>/
#   my $topo = $t->topology;                # primary + 2 GTID replicas, users, database test
#   my $cw = $t->causeway(config => {...}); # causewayd in front (or the primary, see below)
#   ... assertions ...
#   $t->done;                               # stops causewayd with assertions, then done_testing
# With CAUSEWAY_TEST_DIRECT=1 causeway() starts nothing and hands out the primary's port, so
# every test can be validated against MariaDB itself. Everything started is stopped by pid in
# an END block (also on die or SIGINT/SIGTERM); the scratch dir is removed when all passed
# (keep it with CAUSEWAY_TEST_KEEP=1).
use strict;
use warnings;
use Exporter 'import';
use Test::More;
use DBI;
use File::Basename qw(basename);
use File::Path qw(make_path remove_tree);
use Time::HiRes qw(time sleep);
use Causeway::Util qw(repo_root free_port wait_until run_cmd spawn reap proc_alive slurp spit
  children_of vm_rss_kb proc_status_kb port_accepts pid_of_connection percentile);
use JSON::PP ();
use POSIX ();
use Causeway::Topology;
use Causeway::Proxy;

our @EXPORT = qw(wait_until run_cmd slurp spit proc_alive children_of vm_rss_kb proc_status_kb reap
  port_accepts free_port pid_of_connection percentile);

my @instances;    # Causeway::Test objects created by this process

sub test_name { my $n = basename($0); $n =~ s/\.t$//; return $n }

sub new {
    my ($class, %o) = @_;
    my $root = repo_root();
    my $name = $o{name} // test_name();
    my $dir = "$root/t/tmp/$name-$$";
    remove_tree($dir);
    make_path($dir);
    my $self = bless { dir => $dir, root => $root, owner => $$, proxies => [], pids => [],
                       done => 0 }, $class;
    push @instances, $self;
    # A causewayd built with make SAN=address,undefined writes any sanitizer report (ASan,
    # LeakSanitizer, UBSan) to DIR/sanitizer.PID instead of only into a log no test reads;
    # done() fails the test when such a file exists. Harmless for an uninstrumented binary.
    for my $var (qw(ASAN_OPTIONS UBSAN_OPTIONS)) {
        my $own = "log_path=$dir/sanitizer:print_stacktrace=1";
        $ENV{$var} = length($ENV{$var} // '') ? "$ENV{$var}:$own" : $own;
    }
    $SIG{INT} = $SIG{TERM} = sub { diag("interrupted by signal"); exit 130 };
    $SIG{PIPE} = 'IGNORE';
    return $self;
}

sub dir    { $_[0]{dir} }
sub root   { $_[0]{root} }
sub direct { $ENV{CAUSEWAY_TEST_DIRECT} ? 1 : 0 }

# Starts a topology: topology(replicas => 2, flush_log => 2, primary_extra => {...}).
sub topology {
    my ($self, %o) = @_;
    my $topo = Causeway::Topology->new(dir => $self->{dir}, %o);
    $self->{topology} = $topo;
    my $t0 = time;
    $topo->start;
    note(sprintf('topology up in %.1f s: primary %d, replicas %s', time - $t0,
                 $topo->primary->port, join(' ', map { $_->port } $topo->replicas)));
    return $topo;
}

# Starts causewayd in front of the topology (or, in direct mode, hands out the primary).
#   causeway(config => { causeway => { workers => 1 }, replicas => { r2 => undef } })
sub causeway {
    my ($self, %o) = @_;
    my $topo = $self->{topology} or die "causeway() needs topology() first\n";
    my $n = scalar @{ $self->{proxies} };
    my $cw = Causeway::Proxy->new(dir => $self->{dir}, topology => $topo, direct => $self->direct,
                                  name => $n ? "causeway$n" : 'causeway', %o);
    push @{ $self->{proxies} }, $cw;
    $cw->start unless $o{no_start};
    note($cw->direct ? 'CAUSEWAY_TEST_DIRECT: clients talk to the primary on port ' . $cw->port
                     : 'causewayd pid ' . $cw->pid . ' on port ' . $cw->port);
    return $cw;
}

# Skips the rest of the test file when it needs a real causewayd.
sub need_proxy {
    my ($self, $why) = @_;
    return unless $self->direct;
    $self->{done} = 1;
    plan skip_all => "needs causewayd ($why); CAUSEWAY_TEST_DIRECT is set";
}

# Asserts that causewayd logged no alert/crit/emerg line so far.
sub log_is_clean {
    my ($self, $cw, $what) = @_;
    return if $cw->direct;
    my @bad = $cw->bad_log_lines;
    is(join("\n", @bad), '', "causewayd log has no alert/crit/emerg line" . ($what ? " ($what)" : ''));
}

# Stops causewayd with SIGTERM and asserts a clean exit (nginx-tests style).
sub stop_causeway {
    my ($self, $cw) = @_;
    return if $cw->direct || !$cw->pid;
    my $r = $cw->stop(timeout => 10);
    ok($r->{exited}, 'causewayd exits within 10 s of SIGTERM');
    is($r->{exit_code}, 0, 'causewayd exit status is 0 after SIGTERM') if $r->{exited};
    ok(!$r->{pidfile_left}, 'causewayd removed its pid file');
    is(join(' ', @{ $r->{children_left} }), '', 'no causewayd child process is left');
    is($r->{shm_left}, '', 'no causewayd shm segment is left');
    $self->log_is_clean($cw, 'at stop');
    diag("causewayd log tail:\n" . $cw->log_tail(30))
        unless $r->{exited} && defined $r->{exit_code} && $r->{exit_code} == 0;
}

# The sanitizer reports any causewayd process of this test wrote (see new()).
sub sanitizer_reports {
    my ($self) = @_;
    return map { "$_:\n" . (slurp($_) // '') } sort glob("$self->{dir}/sanitizer.*");
}

# Stops every causewayd (with assertions) and the servers, then done_testing.
sub done {
    my ($self) = @_;
    $self->stop_causeway($_) for @{ $self->{proxies} };
    is(join("\n", $self->sanitizer_reports), '', 'no sanitizer report from any causewayd process');
    $self->{topology}->stop if $self->{topology};
    $self->{done} = 1;
    done_testing();
}

# Records a background pid (spawned client) for the END clean-up.
sub track { my ($self, $pid) = @_; push @{ $self->{pids} }, $pid; return $pid }

# Runs each job (a code ref returning a hash ref) in its own forked process, at
# once; returns { name => report } once all finished or $timeout s passed (a
# job that did not finish reports an error).
sub run_parallel {
    my ($self, $timeout, %jobs) = @_;
    my %kids;
    for my $name (sort keys %jobs) {
        my $file = $self->{dir} . "/client-$name.json";
        unlink $file;
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            my $r = eval { $jobs{$name}->() } // { error => "client died: $@" };
            spit($file, JSON::PP->new->canonical->encode($r));
            POSIX::_exit(0);
        }
        $self->track($pid);
        $kids{$name} = [$pid, $file];
    }
    my $deadline = time + $timeout;
    my %res;
    for my $name (sort keys %kids) {
        my ($pid, $file) = @{ $kids{$name} };
        my $st = reap($pid, $deadline - time > 1 ? $deadline - time : 1);
        unless (defined $st) { kill 'KILL', $pid; reap($pid, 5) }
        my $txt = slurp($file);
        $res{$name} = $txt ? JSON::PP::decode_json($txt)
                    : { error => defined $st ? "client exited (status $st) without a report"
                                             : "client did not finish within $timeout s" };
    }
    return \%res;
}

sub spawn_bg {
    my ($self, $cmd, %o) = @_;
    return $self->track(spawn($cmd, %o));
}

sub run { my ($self, $cmd, %o) = @_; return run_cmd($cmd, dir => $self->{dir}, %o) }

# The mariadb CLI against a port (default: the last causeway's): returns run_cmd's report.
#   mariadb(['-e', 'select 1'], port => P, user => 'app', password => 'secret', db => 'test',
#           stdin => '...', timeout => 60)
sub mariadb {
    my ($self, $args, %o) = @_;
    my $port = $o{port} // $self->proxy_port;
    my @cmd = ('mariadb', '--no-defaults', '-h127.0.0.1', "-P$port",
               '-u' . ($o{user} // 'app'), '-p' . ($o{password} // 'secret'),
               '--connect-timeout=10', @$args);
    push @cmd, $o{db} // 'test' unless exists $o{db} && !defined $o{db};
    return $self->run(\@cmd, %o);
}

# `causewayctl --json counters` of a causeway: the totals over its workers (a hash, empty when
# causewayctl fails).
sub ctl_counters {
    my ($self, $cw) = @_;
    my $r = $self->run([ $self->root . '/bin/causewayctl', '-c', $cw->cnf, '--json', 'counters' ], timeout => 20);
    return (eval { JSON::PP::decode_json($r->{out}) } // {})->{total}{counters} // {};
}

sub proxy_port {
    my ($self) = @_;
    my $cw = $self->{proxies}[-1] or die "no causeway started\n";
    return $cw->port;
}

# A DBI handle through a port (default: the last causeway's), RaiseError off so that callers
# can check $DBI::err. connect(user => ..., password => ..., db => ..., port => ..., attr => {})
sub connect {
    my ($self, %o) = @_;
    my $port = $o{port} // $self->proxy_port;
    my $db = exists $o{db} ? $o{db} : 'test';
    my $dsn = "DBI:MariaDB:host=127.0.0.1;port=$port;mariadb_connect_timeout=" . ($o{connect_timeout} // 10) . ";"
            . "mariadb_read_timeout=" . ($o{read_timeout} // 60) . ";mariadb_write_timeout=60";
    $dsn .= ";database=$db" if defined $db;
    $dsn .= ";$o{dsn}" if $o{dsn};
    return DBI->connect($dsn, $o{user} // 'app', $o{password} // 'secret',
                        { RaiseError => 0, PrintError => 0, AutoCommit => 1,
                          AutoInactiveDestroy => 1, %{ $o{attr} // {} } });
}

# The python3 that has PyMySQL (Debian's, not a pyenv shim).
sub python {
    for my $p ('/usr/bin/python3', 'python3') {
        return $p if system("$p -c 'import pymysql' >/dev/null 2>&1") == 0;
    }
    return;
}

# Runs a script that prints `ok NAME` / `not ok NAME: detail` lines and asserts every
# expected NAME came back ok (and that nothing came back not ok).
sub script_checks {
    my ($self, $label, $cmd, $expected, %o) = @_;
    my $r = $self->run($cmd, timeout => $o{timeout} // 120, %o);
    my %seen;
    for my $line (split /\n/, $r->{out}) {
        if ($line =~ /^ok ([^\s:]+)/) { $seen{$1} = 'ok' }
        elsif ($line =~ /^not ok ([^\s:]+)(.*)/) { $seen{$1} = "not ok$2" }
    }
    is($r->{exit}, 0, "$label: script exits 0") or diag("stdout:\n$r->{out}\nstderr:\n$r->{err}");
    for my $name (@$expected) {
        is($seen{$name} // 'missing', 'ok', "$label: $name");
    }
    my @extra = grep { my $n = $_; !grep { $_ eq $n } @$expected } sort keys %seen;
    is(join(' ', @extra), '', "$label: no unexpected check names") if @extra;
    return $r;
}

sub _cleanup {
    my ($self) = @_;
    return unless $self->{owner} == $$;
    for my $pid (@{ $self->{pids} }) {
        next unless proc_alive($pid);
        kill 'KILL', -$pid;
        kill 'KILL', $pid;
        reap($pid, 5);
    }
    $_->kill_all for @{ $self->{proxies} };
    if (my $topo = $self->{topology}) {
        $topo->kill_all;
    }
    my $passing = $self->{done} && Test::More->builder->is_passing;
    if ($ENV{CAUSEWAY_TEST_KEEP}) {
        diag("kept $self->{dir} (CAUSEWAY_TEST_KEEP)");
    } elsif ($passing) {
        remove_tree($self->{dir});
    } else {
        # Keep the logs and configs for a post-mortem, drop the ~100 MB data dirs.
        remove_tree($_) for glob("$self->{dir}/*/data");
        diag("kept the logs in $self->{dir} (data dirs removed; CAUSEWAY_TEST_KEEP=1 keeps all)");
    }
}

END {
    my $code = $?;
    for my $t (@instances) { eval { $t->_cleanup; 1 } or warn "cleanup: $@" }
    $? = $code;
}

1;
