package Causeway::Server;
# One real mariadbd on 127.0.0.1 with its own defaults file, data dir, socket and pid file
# (DESIGN.md §8). Knows how to start, stop, kill, pause it and run root SQL over its socket.
# Replication wiring lives in Causeway::Topology; assertions live in the tests.
use strict;
use warnings;
use DBI;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);
use File::Path qw(make_path remove_tree);
use Fcntl qw(:flock);
use Causeway::Util qw(repo_root free_port wait_until spit slurp proc_alive reap);

my $MARIADBD = $ENV{CAUSEWAY_MARIADBD} // '/usr/sbin/mariadbd';

sub mariadbd_version {
    my $v = `$MARIADBD --version 2>/dev/null`;
    return $v =~ /Ver\s+(\S+)/ ? $1 : 'unknown';
}

# new(name => 'primary', dir => DIR, server_id => 1, role => 'primary'|'replica', port => P,
#     flush_log => 2, extra => { option => value }, promotable => 0)
# promotable: binary log and log_slave_updates whatever the role, so that any server can be
# promoted (switchover and failover tests); off by default, it slows every commit.
sub new {
    my ($class, %o) = @_;
    my $self = bless {
        name      => $o{name},
        dir       => $o{dir},
        server_id => $o{server_id},
        role      => $o{role} // 'primary',
        port      => $o{port} // free_port(),
        flush_log => $o{flush_log} // 2,
        extra     => $o{extra} // {},
        promotable => $o{promotable} ? 1 : 0,
        pid       => undef,
        owner     => $$,
    }, $class;
    $self->{datadir} = "$self->{dir}/data";
    $self->{socket}  = "$self->{dir}/sock";
    $self->{pidfile} = "$self->{dir}/mariadbd.pid";
    $self->{cnf}     = "$self->{dir}/my.cnf";
    $self->{errlog}  = "$self->{dir}/error.log";
    # Its own temporary directory: files in a shared /tmp were once removed
    # under a running server (a cleaner, or another test), failing its sorts.
    $self->{tmpdir} = "$self->{dir}/tmp";
    return $self;
}

sub name    { $_[0]{name} }
sub port    { $_[0]{port} }
sub socket  { $_[0]{socket} }
sub pid     { $_[0]{pid} }
sub dir     { $_[0]{dir} }
sub errlog  { $_[0]{errlog} }
sub address { '127.0.0.1:' . $_[0]{port} }
sub server_id { $_[0]{server_id} }
sub is_running { my $s = shift; return $s->{pid} && proc_alive($s->{pid}) }

sub _cnf_text {
    my ($self) = @_;
    my @l = (
        '[mariadbd]',
        'user=root',
        "datadir=$self->{datadir}",
        "socket=$self->{socket}",
        "pid-file=$self->{pidfile}",
        "log-error=$self->{errlog}",
        "tmpdir=$self->{tmpdir}",
        "port=$self->{port}",
        'bind-address=127.0.0.1',
        "server_id=$self->{server_id}",
        'gtid_domain_id=0',
        'innodb_buffer_pool_size=64M',
        'innodb_log_file_size=32M',
        'performance_schema=OFF',
        "innodb_flush_log_at_trx_commit=$self->{flush_log}",
        'max_allowed_packet=64M',
        'skip_name_resolve=1',
        'relay_log=relay-bin',
        'max_connections=500',
    );
    if ($self->{role} eq 'primary') {
        push @l, 'log_bin=primary-bin', 'binlog_format=ROW';
    } else {
        push @l, 'read_only=1';
        push @l, "log_bin=$self->{name}-bin", 'binlog_format=ROW' if $self->{promotable};
    }
    push @l, 'log_slave_updates=1' if $self->{promotable};
    push @l, "$_=$self->{extra}{$_}" for sort keys %{ $self->{extra} };
    return join("\n", @l, '');
}

# The template data dir (mariadb-install-db run once per mariadbd version) under t/tmp/.
sub template_datadir {
    my $tmp = repo_root() . '/t/tmp';
    make_path($tmp);
    my $ver = mariadbd_version();
    my $tpl = "$tmp/template-$ver";
    return "$tpl/data" if -f "$tpl/ready";
    open my $lock, '>', "$tmp/template-$ver.lock" or die "lock: $!";
    flock($lock, LOCK_EX) or die "flock: $!";
    unless (-f "$tpl/ready") {
        my $build = "$tpl.build-$$";
        remove_tree($build);
        make_path($build);
        spit("$build/my.cnf", join("\n", '[mariadbd]', 'user=root', "datadir=$build/data",
            "socket=$build/sock", "pid-file=$build/pid", 'innodb_buffer_pool_size=64M',
            'innodb_log_file_size=32M', 'performance_schema=OFF', ''));
        my $rc = system("mariadb-install-db --defaults-file=$build/my.cnf --user=root "
            . "--skip-test-db --auth-root-authentication-method=socket >$build/install.log 2>&1");
        die "mariadb-install-db failed, see $build/install.log\n" if $rc != 0;
        spit("$build/ready", "$ver\n");
        remove_tree($tpl);
        rename($build, $tpl) or die "rename $build $tpl: $!";
    }
    close $lock;
    return "$tpl/data";
}

# Copies the template (first start only), writes my.cnf and starts mariadbd in the background.
sub spawn {
    my ($self) = @_;
    die "$self->{name} already running\n" if $self->is_running;
    make_path($self->{dir}, $self->{tmpdir});
    unless (-d $self->{datadir}) {
        my $tpl = template_datadir();
        system('cp', '-a', $tpl, $self->{datadir}) == 0 or die "cp template: $?";
    }
    spit($self->{cnf}, $self->_cnf_text);
    unlink $self->{socket};
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        POSIX::setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $self->{errlog};
        open STDERR, '>>', $self->{errlog};
        exec($MARIADBD, "--defaults-file=$self->{cnf}") or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    delete $self->{dbh};
    return $self;
}

# Waits (bounded) until root can log in over the socket; dies with the error log tail.
sub wait_ready {
    my ($self, $timeout) = @_;
    my $ok = wait_until(sub {
        die "$self->{name}: mariadbd exited at start:\n" . $self->_log_tail . "\n"
            unless $self->is_running;
        return 0 unless -S $self->{socket};
        return eval { $self->dbh; 1 };
    }, timeout => $timeout // 60, interval => 0.05);
    die "$self->{name}: not ready in time:\n" . $self->_log_tail . "\n" unless $ok;
    return $self;
}

sub start { my $s = shift; $s->spawn; $s->wait_ready; return $s }

sub _log_tail {
    my ($self) = @_;
    my @l = split /\n/, slurp($self->{errlog}) // '';
    splice(@l, 0, @l - 15) if @l > 15;
    return join("\n", @l);
}

# Graceful stop: SIGTERM, wait for the process (bounded), then SIGKILL if it hangs.
sub stop {
    my ($self, $timeout) = @_;
    my $pid = $self->{pid} or return 1;
    delete $self->{dbh};
    kill 'CONT', $pid;
    kill 'TERM', $pid;
    my $st = reap($pid, $timeout // 60);
    unless (defined $st) {
        kill 'KILL', $pid;
        reap($pid, 10);
    }
    $self->{pid} = undef;
    return defined $st;
}

sub kill9 {
    my ($self) = @_;
    my $pid = $self->{pid} or return;
    delete $self->{dbh};
    kill 'KILL', $pid;
    reap($pid, 10);
    $self->{pid} = undef;
}

# SIGSTOP is not synchronous: kill() returns once one thread is told, and the
# others stop only when the scheduler runs them; a query sent meanwhile can
# still be answered. Returns once every thread of the server is stopped.
sub pause {
    my ($self) = @_;
    return unless $self->{pid};
    kill 'STOP', $self->{pid};
    my $task = "/proc/$self->{pid}/task";
    wait_until(sub {
        opendir(my $d, $task) or return 1;
        for my $tid (grep { /^\d+$/ } readdir $d) {
            my $stat = slurp("$task/$tid/stat") // next;
            return 0 unless $stat =~ /^\d+ \(.*\) ([A-Za-z])/s && ($1 eq 'T' || $1 eq 't');
        }
        return 1;
    }, timeout => 5, interval => 0.002);
}
sub resume { kill 'CONT', $_[0]{pid} if $_[0]{pid} }

# A root DBI handle over the socket (cached; reconnects when the server was restarted).
sub dbh {
    my ($self) = @_;
    my $h = $self->{dbh};
    return $h if $h && $self->{dbh_pid} == $$ && $h->ping;
    $h = DBI->connect("DBI:MariaDB:mariadb_socket=$self->{socket};mariadb_connect_timeout=5;"
                      . "mariadb_read_timeout=120;mariadb_write_timeout=120",
                      'root', '', { RaiseError => 1, PrintError => 0, AutoCommit => 1,
                                    AutoInactiveDestroy => 1 })
        or die "connect root\@$self->{name}: $DBI::errstr\n";
    $self->{dbh} = $h;
    $self->{dbh_pid} = $$;
    return $h;
}

# Root SQL. A statement with a result set returns an arrayref of row arrayrefs;
# anything else returns the affected-row count. Dies on error.
sub sql {
    my ($self, $query, @bind) = @_;
    my $sth = $self->dbh->prepare($query);
    $sth->execute(@bind);
    return $sth->{NUM_OF_FIELDS} ? $sth->fetchall_arrayref : $sth->rows;
}

# The first column of the first row.
sub value {
    my ($self, $query, @bind) = @_;
    my $rows = $self->sql($query, @bind);
    return ref $rows && @$rows ? $rows->[0][0] : undef;
}

sub stop_sql_thread  { $_[0]->sql('STOP SLAVE SQL_THREAD') }
sub start_sql_thread { $_[0]->sql('START SLAVE SQL_THREAD') }

sub DESTROY {}

1;
