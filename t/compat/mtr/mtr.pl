# t/compat/run's mysql-test-run part: starts a fresh primary + replica with mtr's server
# settings for each mode (direct, bridge, smartscale), runs the tests of tests.list with
# `mtr --extern` against the primary or causewayd, and reports one line per test and mode.
# Tests listed in `exclusions` (cannot pass through any proxy) run directly only.
package Compat::Mtr;
use strict;
use warnings;
use File::Path qw(make_path);
use Time::HiRes qw(time);
use Causeway::Util qw(repo_root slurp spit run_cmd);

our $MTR_DIR = '/usr/share/mysql/mysql-test';

# mtr's include/default_mysqld.cnf, less what the harness sets itself (ports, paths, logs) and
# performance_schema (off here: the main suite skips what needs it).
sub server_options {
    my ($vardir) = @_;
    return {
        'character-set-server' => 'latin1', 'collation-server' => 'latin1_swedish_ci',
        'default-storage-engine' => 'myisam', 'log-bin-trust-function-creators' => 1,
        'key_buffer_size' => '1M', 'sort_buffer_size' => '256K', 'max_heap_table_size' => '1M',
        'local-infile' => 1, 'secure-file-priv' => $vardir, 'connect-timeout' => 60,
        'open-files-limit' => 1024, 'use_stat_tables' => 'preferably', 'histogram_type' => 'json_hb',
        'binlog-direct-non-transactional-updates' => 1, 'plugin-maturity' => 'unknown',
        'slave-net-timeout' => 120, 'max_connections' => 500, 'skip_name_resolve' => 0,
        'tmpdir' => "$vardir/tmp",
    };
}

# What mtr's bootstrap adds to a fresh data dir (timezone test data, mtr.*), plus root over TCP
# as root\@localhost (name resolution on, so that DEFINER clauses read as in the .result files),
# without READ_ONLY ADMIN (Causeway logs in to the servers with the client's credentials).
# Causeway loads the accounts from the primary (users_from_primary): tests that create a user
# and log in as it at once work as they do directly.
sub setup_primary {
    my ($topo, $tmp) = @_;
    my $p = $topo->primary;
    my $sql = join("\n", "SET SQL_LOG_BIN=1;",
        "DELETE FROM mysql.global_priv WHERE user = '';", "FLUSH PRIVILEGES;",
        "ALTER USER 'root'\@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');",
        "REVOKE READ_ONLY ADMIN ON *.* FROM 'root'\@'localhost';",
        "GRANT SELECT ON mysql.global_priv TO 'monitor'\@'%';",
        "ALTER DATABASE test CHARACTER SET latin1 COLLATE latin1_swedish_ci;",
        "USE mysql;", slurp('/usr/share/mysql/mysql_test_data_timezone.sql'),
        "CREATE DATABASE mtr CHARSET=latin1;", "USE mtr;",
        map({ mysqltest_to_cli(slurp("$MTR_DIR/include/$_")) } 'mtr_warnings.sql', 'mtr_check.sql'), '');
    spit("$tmp/mtr-setup.sql", $sql);
    my $r = run_cmd(['mariadb', '--no-defaults', '-uroot', '-S', $p->socket], stdin => $sql, dir => $tmp, timeout => 120);
    die "mtr set-up on the primary failed: $r->{err}\n" if $r->{exit};
}

# mysqltest's `delimiter ||;` and `use mtr||` as the mariadb client wants them.
sub mysqltest_to_cli {
    my ($sql) = @_;
    $sql =~ s/^delimiter (\S+?);?\s*$/DELIMITER $1/mgi;
    $sql =~ s/^DELIMITER ;\|\|$/DELIMITER ;/mg;
    $sql =~ s/^use mtr\|\|$//mg;
    $sql =~ s/^\s*--.*$//mg;
    return $sql;
}

# A fresh database test on the primary (and through replication on the replica). Files a test
# left in the data dir (copied .frm files, outfiles) make DROP DATABASE fail: remove them first.
sub reset_test_db {
    my ($topo) = @_;
    my $p = $topo->primary;
    for my $try (1, 2) {
        last if eval { $p->sql('DROP DATABASE IF EXISTS test'); 1 };
        system('rm', '-rf', glob($p->dir . '/data/test/*'));
    }
    $p->sql('CREATE DATABASE IF NOT EXISTS test CHARACTER SET latin1 COLLATE latin1_swedish_ci');
    $topo->wait_for_replicas(30);
}

sub list_file {
    my ($file) = @_;
    my (@l, %why);
    for (split /\n/, slurp($file) // '') {
        next if /^\s*(#|$)/;
        my ($name, $reason) = /^(\S+)\s*(.*)$/;
        push @l, $name;
        $why{$name} = $reason;
    }
    return (\@l, \%why);
}

# Runs mtr --extern against PORT; returns { test => [status, first differing line] }.
sub run_mtr {
    my ($tmp, $mode, $port, $tests, $log) = @_;
    my $var = "$tmp/mtr-var-$mode";
    my $r = run_cmd(['env', '-C', $MTR_DIR, 'perl', 'mysql-test-run.pl', '--extern', 'host=127.0.0.1', '--extern', "port=$port",
        '--extern', 'user=root', '--extern', 'protocol=tcp', "--vardir=$var", '--tmpdir=' . "$var/tmp",
        '--force', '--max-test-fail=0', '--retry=0', '--testcase-timeout=3',
        '--nocheck-testcases', '--nowarnings', '--suite=main', @$tests],
        dir => $tmp, timeout => 3600);
    spit("$tmp/mtr-" . ($log // $mode) . ".log", $r->{out} . $r->{err});
    my %res;
    my @lines = split /\n/, $r->{out};
    for my $i (0 .. $#lines) {
        next unless $lines[$i] =~ /^(main\.\S+)\s+.*\[ (pass|fail|skipped|disabled) \]/;
        my ($t, $st) = ($1, $2);
        my $first = '';
        if ($st eq 'fail') {
            # The first differing result line, else the failed query's error, else mysqltest's words.
            my ($diff, $error, $said);
            for my $j ($i + 1 .. $#lines) {
                my $l = $lines[$j];
                last if $l =~ /^main\.\S+\s+.*\[ /;
                $diff //= $l if $l =~ /^[-+]/ && $l !~ /^[-+]{3} / && $l !~ /^-+$/;
                $error //= $1 if $l =~ /(failed(?: with wrong errno)?: .*)/;
                $said //= $l if $l =~ /^mysqltest: (?!In included file)/;
            }
            $first = $diff // $error // $said // '';
        }
        $res{$t} = [$st, substr($first, 0, 160)];
    }
    return \%res;
}

sub run {
    my (%o) = @_;
    my $root = repo_root();
    my ($list) = list_file("$root/t/compat/mtr/tests.list");
    $list = [map { /^main\./ ? $_ : "main.$_" } @{ $o{tests} }] if $o{tests};
    # exclusions: `main.TEST MODES reason`, MODES a comma list of bridge and smartscale.
    my (undef, $exclusion) = list_file("$root/t/compat/mtr/exclusions");
    my %excl;
    for my $t (keys %$exclusion) {
        my ($modes, $why) = $exclusion->{$t} =~ /^(\S+)\s+(.*)$/ or next;
        $excl{$t}{$_} = $why for split /,/, $modes;
    }
    my %count;
    my %res;
    for my $mode ('direct', @{ $o{modes} }) {
        my $t0 = time;
        # mtr --extern sets up only a vardir that does not exist, but the server wants it as its
        # secure-file-priv at start: do what mtr's setup_vardir would.
        my $vardir = "$o{dir}/mtr-var-$mode";
        make_path(map { "$vardir/$_" } qw(log run tmp));
        system('cp', '-a', "$MTR_DIR/std_data", "$vardir/std_data") == 0 or die "cp std_data failed\n";
        my $topo = $o{start_topology}->(name => "mtr-$mode",
            topology => { primary_extra => server_options($vardir), replica_extra => server_options($vardir) },
            setup => sub { setup_primary($_[0], $o{dir}) }, users => { root => '' },
            causeway => { users_from_primary => 'on' });
        my $port = $mode eq 'direct' ? $topo->primary->port : $o{proxy}{$mode}->port;
        my @run = $mode eq 'direct' ? @$list : grep { !$excl{$_}{$mode} && ($res{direct}{$_}[0] // '') eq 'pass' } @$list;
        $res{$mode} = !@run ? {} : run_mtr($o{dir}, $mode, $port, [map { s/^main\.//r } @run]);
        # With --extern nothing restarts the server after a failure, and a failed test leaves its
        # tables for the next ones ("Table 't1' already exists"): run each failed test once more
        # alone, after a fresh database test. Only failures that look like such left-overs are
        # retried (each retry costs an mtr start, and a lock-wait failure up to a minute).
        my @failed = grep { $res{$mode}{$_}[0] eq 'fail' && $res{$mode}{$_}[1] =~ /already exists|doesn't exist|Unknown table/ }
                     sort keys %{ $res{$mode} };
        splice(@failed, 30) if @failed > 30;
        for my $t (@failed) {
            reset_test_db($topo);
            my $again = run_mtr($o{dir}, $mode, $port, [$t =~ s/^main\.//r], "$mode-again-$t");
            $res{$mode}{$t} = $again->{$t} if $again->{$t};
        }
        $count{$mode} = grep { $_->[0] eq 'pass' } values %{ $res{$mode} };
        $o{stop_all}->();
        printf "      mtr %s: %d tests, %d passed, %.0f s\n", $mode, scalar @run, $count{$mode}, time - $t0;
    }
    for my $t (@$list) {
        my ($st, $first) = @{ $res{direct}{$t} // [] }; $st //= "not run";
        if ($st ne 'pass') { printf "%-5s %-34s direct: %s (not counted; remove it from tests.list)\n", 'skip', $t, $st; next }
        for my $mode (@{ $o{modes} }) {
            if ($excl{$t}{$mode}) { printf "%-5s %-34s %s (excluded: %s)\n", 'excl', $t, $mode, $excl{$t}{$mode}; next }
            my ($s, $f) = @{ $res{$mode}{$t} // ['not run', ''] };
            $o{verdict}->($t, $mode, $s eq 'pass', "$s: $f");
        }
    }
    return sprintf("mtr: %d tests listed; passed directly %d, through bridge %d, through smartscale %d"
                   . " (excluded: bridge %d, smartscale %d)\n",
                   scalar @$list, $count{direct} // 0, $count{bridge} // 0, $count{smartscale} // 0,
                   scalar(grep { $excl{$_}{bridge} } @$list), scalar(grep { $excl{$_}{smartscale} } @$list));
}

1;
