# t/30-ryw.t again with the replicas applying in parallel (slave_parallel_threads = 4,
# slave_parallel_mode = optimistic): read-your-writes must not rest on a replica applying
# one transaction at a time (its gtid_slave_pos may then move while later work is done).
use strict;
use warnings;

our %RYW_TOPOLOGY = (replica_extra => { slave_parallel_threads => 4, slave_parallel_mode => 'optimistic' });
my $file = './t/30-ryw.t';
unless (defined do $file) {
    die $@ if $@;
    die "cannot read $file: $!\n" if $!;
}
