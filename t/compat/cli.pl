#!/usr/bin/perl
# Causeway driver matrix: the mariadb command-line client runs t/compat/steps.tsv (text
# protocol; a prepared step is SQL PREPARE/EXECUTE with user variables, reset is the CLI's
# `resetconnection`), then mariadb-dump dumps database test twice (default and
# --single-transaction). Prints everything the tools print (see t/compat/README).
#   perl t/compat/cli.pl HOST PORT
use strict;
use warnings;

my ($host, $port) = @ARGV;
$| = 1;
my @conn = ('--no-defaults', "-h$host", "-P$port", '-uapp', '-psecret', '--connect-timeout=10');
sub quote { my ($s) = @_; $s =~ s/\\/\\\\/g; $s =~ s/'/''/g; return "'$s'" }
sub value {
    my ($t, $v) = split /:/, $_[0], 2;
    return 'NULL' if $t eq 'n';
    return $v if $t eq 'i' || $t eq 'd' || $t eq 'm';
    return "UNHEX('$v')" if $t eq 'x';
    return "CONVERT(UNHEX('$v') USING utf8mb4)" if $t eq 'u';
    return quote($v);
}

my $sql = "DELIMITER \$\$\n";
open my $in, '<', ($ENV{COMPAT_STEPS} // 't/compat/steps.tsv') or die "steps: $!\n";
while (my $line = <$in>) {
    chomp $line;
    next if $line =~ /^#/ || $line eq '';
    my ($op, @a) = split /\t/, $line;
    if ($op eq 'comment') { $sql .= "SELECT '## $a[0]' AS step\$\$\n"; next }
    if ($op eq 'query' || $op eq 'digest') { $sql .= "$a[0]\$\$\n" }
    elsif ($op eq 'prepared' || $op eq 'digest_prepared') {
        my ($q, @p) = @a;
        $sql .= 'SET @cw_sql = ' . quote($q) . "\$\$\nPREPARE cw_s FROM \@cw_sql\$\$\n";
        my @vars = map { "\@cw_p$_" } 1 .. @p;
        $sql .= "SET $vars[$_] = " . value($p[$_]) . "\$\$\n" for 0 .. $#p;
        $sql .= 'EXECUTE cw_s' . (@vars ? ' USING ' . join(', ', @vars) : '') . "\$\$\nDEALLOCATE PREPARE cw_s\$\$\n";
    }
    elsif ($op eq 'begin') { $sql .= "BEGIN\$\$\n" }
    elsif ($op eq 'commit') { $sql .= "COMMIT\$\$\n" }
    elsif ($op eq 'rollback') { $sql .= "ROLLBACK\$\$\n" }
    elsif ($op eq 'reset') { $sql .= "resetconnection\n" }
    elsif ($op eq 'change_user') { $sql .= "SELECT 'change_user: unsupported' AS step\$\$\n" }
    else { die "unknown step $op\n" }
}
my $file = ($ENV{COMPAT_TMP} // '/tmp') . "/cli-steps-$$.sql";
open my $out, '>', $file or die "$file: $!\n";
print $out $sql;
close $out;

# stderr (errors) into stdout, unbuffered, so that they land next to their statement.
system('sh', '-c', 'exec "$@" < "$0" 2>&1', $file, 'mariadb', @conn, '--batch', '--force', '--unbuffered',
       '--column-type-info', '--show-warnings', '--binary-as-hex', '--default-character-set=utf8mb4', '-v', 'test');
print "mariadb exit status ", $? >> 8, "\n";
unlink $file;
for my $opts ([], ['--single-transaction']) {
    print "## mariadb-dump @$opts\n";
    system('sh', '-c', 'exec "$@" 2>&1', 'mariadb-dump', @conn, '--skip-dump-date', '--routines', @$opts, 'test');
    print "mariadb-dump exit status ", $? >> 8, "\n";
}
print "end\n";
