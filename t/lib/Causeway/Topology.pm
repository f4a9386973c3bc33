package Causeway::Topology;
# One primary and N GTID replicas (DESIGN.md §8): starts them from the template data dir,
# creates the test users on the primary (they replicate), wires the replicas and waits until
# they have caught up. Used by Causeway::Test and by the demo.
use strict;
use warnings;
use Time::HiRes qw(time sleep);
use Causeway::Server;
use Causeway::Util qw(wait_until);

# The users every test may rely on (app and app2 lack READ_ONLY ADMIN: a misrouted write
# fails with ERR 1290 on a replica).
our @SETUP_SQL = (
    "CREATE USER 'app'\@'%' IDENTIFIED BY 'secret'",
    "GRANT ALL PRIVILEGES ON *.* TO 'app'\@'%'",
    "REVOKE READ_ONLY ADMIN ON *.* FROM 'app'\@'%'",
    "CREATE USER 'app2'\@'%' IDENTIFIED BY 'secret2'",
    "GRANT ALL PRIVILEGES ON *.* TO 'app2'\@'%'",
    "REVOKE READ_ONLY ADMIN ON *.* FROM 'app2'\@'%'",
    "CREATE USER 'monitor'\@'%' IDENTIFIED BY 'monitorpass'",
    "GRANT BINLOG MONITOR, SLAVE MONITOR, REPLICATION CLIENT, PROCESS ON *.* TO 'monitor'\@'%'",
    "CREATE USER 'repl'\@'%' IDENTIFIED BY 'replpass'",
    "GRANT REPLICATION SLAVE ON *.* TO 'repl'\@'%'",
    "CREATE DATABASE test",
);

# new(dir => DIR, replicas => 2, flush_log => 2, primary_extra => {}, replica_extra => {},
#     promotable => 0)   promotable: every server binlogs (log_slave_updates), so any can be promoted
sub new {
    my ($class, %o) = @_;
    my $n = $o{replicas} // 2;
    my $self = bless { dir => $o{dir}, replicas => [] }, $class;
    $self->{primary} = Causeway::Server->new(
        name => 'primary', dir => "$o{dir}/primary", server_id => 1, role => 'primary',
        flush_log => $o{flush_log}, extra => $o{primary_extra}, promotable => $o{promotable});
    for my $i (1 .. $n) {
        push @{ $self->{replicas} }, Causeway::Server->new(
            name => "r$i", dir => "$o{dir}/r$i", server_id => 1 + $i, role => 'replica',
            flush_log => $o{flush_log}, extra => $o{replica_extra}, promotable => $o{promotable});
    }
    return $self;
}

sub primary  { $_[0]{primary} }
sub replicas { @{ $_[0]{replicas} } }
sub replica  { $_[0]{replicas}[$_[1]] }
sub servers  { ($_[0]{primary}, @{ $_[0]{replicas} }) }

# Starts every server (in parallel), creates users, starts replication, waits for catch-up.
sub start {
    my ($self) = @_;
    $_->spawn for $self->servers;
    $_->wait_ready for $self->servers;
    my $p = $self->primary;
    $p->sql($_) for @SETUP_SQL;
    for my $r ($self->replicas) {
        $r->sql(sprintf("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, "
            . "MASTER_USER='repl', MASTER_PASSWORD='replpass', MASTER_USE_GTID=slave_pos, "
            . "MASTER_CONNECT_RETRY=1", $p->port));
        $r->sql('START SLAVE');
    }
    $self->wait_for_replicas(60) or die "replicas did not catch up with the primary\n";
    return $self;
}

# Gives every server a table test.marker holding its own name (written with
# sql_log_bin = 0, so it does not replicate): `SELECT name FROM marker` then
# says which server answered. Also turns on userstat (per-user row counts).
sub add_markers {
    my ($self) = @_;
    for my $s ($self->servers) {
        $s->sql('SET SESSION sql_log_bin = 0');
        $s->sql('CREATE TABLE test.marker (name VARCHAR(32) NOT NULL)');
        $s->sql('INSERT INTO test.marker VALUES (?)', $s->name);
        $s->sql('SET SESSION sql_log_bin = 1');
        $s->sql('SET GLOBAL userstat = 1');
    }
}

# True once every given replica (default: all) has applied the primary's binlog position.
sub wait_for_replicas {
    my ($self, $timeout, @which) = @_;
    @which = $self->replicas unless @which;
    my $target = $self->primary->value('SELECT @@gtid_binlog_pos');
    return wait_until(sub {
        for my $r (@which) {
            my $pos = eval { $r->value('SELECT @@gtid_slave_pos') } // return 0;
            return 0 unless $pos eq $target;
        }
        return 1;
    }, timeout => $timeout // 30, interval => 0.02);
}

sub stop {
    my ($self) = @_;
    # Replicas first so they do not spin reconnecting to a stopped primary.
    $_->stop for reverse $self->servers;
}

# Last resort (END block, die): SIGKILL whatever is still running.
sub kill_all {
    my ($self) = @_;
    for my $s ($self->servers) { $s->kill9 if $s->is_running }
}

1;
