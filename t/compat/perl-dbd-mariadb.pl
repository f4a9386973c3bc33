#!/usr/bin/perl
# Causeway driver matrix: Perl DBD::MariaDB runs t/compat/steps.tsv and prints what it saw
# (see t/compat/README). Text protocol for query/digest, mariadb_server_prepare for prepared.
use strict;
use warnings;
use DBI qw(:sql_types);
use Digest::MD5 qw(md5_hex);

my ($host, $port) = @ARGV;
binmode STDOUT;
$| = 1;
my $dsn = "DBI:MariaDB:host=$host;port=$port;database=test;mariadb_connect_timeout=10;mariadb_read_timeout=20";
my $dbh = DBI->connect($dsn, 'app', 'secret', { RaiseError => 0, PrintError => 0, AutoCommit => 1 })
    or die "connect: $DBI::errstr\n";

sub fmt {
    my ($v) = @_;
    return 'NULL' unless defined $v;
    utf8::encode($v) if utf8::is_utf8($v);
    return $v =~ /^[\x20-\x7e]*\z/ ? $v : '0x' . unpack('H*', $v);
}
sub err { my ($h) = @_; printf "err: %s %s %s\n", $h->err, $h->state, fmt($h->errstr) }
sub param {
    my ($p) = @_;
    my ($t, $v) = split /:/, $p, 2;
    return (undef, SQL_INTEGER) if $t eq 'n';
    return ($v, SQL_BIGINT) if $t eq 'i';
    return ($v, SQL_DOUBLE) if $t eq 'd';
    return (pack('H*', $v), SQL_BLOB) if $t eq 'x';
    if ($t eq 'u') { my $s = pack('H*', $v); utf8::decode($s); return ($s, SQL_VARCHAR) }
    return ($v, SQL_VARCHAR);    # s, m
}
sub results {
    my ($sth, $digest) = @_;
    do {
        if ($sth->{NUM_OF_FIELDS}) {
            print 'cols: ', join(' ', map { "$sth->{NAME}[$_]:$sth->{mariadb_type}[$_]:" . ($sth->{PRECISION}[$_] // '') . ':' . ($sth->{SCALE}[$_] // '') . ':' . ($sth->{NULLABLE}[$_] // '') } 0 .. $sth->{NUM_OF_FIELDS} - 1), "\n";
            my ($n, $md5) = (0, Digest::MD5->new);
            while (my $r = $sth->fetchrow_arrayref) {
                my $line = join('|', map { fmt($_) } @$r);
                $n++;
                if ($digest) { $md5->add("$line\n") } else { print "row: $line\n" }
            }
            err($sth) if $sth->err;
            print "rows: $n", ($digest ? ' md5 ' . $md5->hexdigest : ''), "\n";
        } else {
            printf "ok: affected=%s\n", $sth->rows;
        }
        printf "warnings: %d\n", $sth->{mariadb_warning_count} // 0;
    } while ($sth->more_results);
}
sub run_sql {
    my ($sql, $server, $digest, @params) = @_;
    # DBD::MariaDB 1.22 waits forever for the second result set of a server-side prepared
    # CALL (directly too): such a CALL is prepared on the client side.
    if ($server && $sql =~ /^CALL /) { print "client-side prepare\n"; $server = 0 }
    my $sth = $dbh->prepare($sql, { mariadb_server_prepare => $server ? 1 : 0 });
    unless ($sth) { err($dbh); return }
    my $i = 0;
    for my $p (@params) { my ($v, $t) = param($p); $sth->bind_param(++$i, $v, $t) }
    if (defined $sth->execute) { results($sth, $digest) } else { err($sth) }
    $sth->finish;
}

open my $in, '<', ($ENV{COMPAT_STEPS} // 't/compat/steps.tsv') or die "steps: $!\n";
my $step = 0;
while (my $line = <$in>) {
    chomp $line;
    next if $line =~ /^#/ || $line eq '';
    my ($op, @a) = split /\t/, $line;
    $step++;
    if ($op eq 'comment') { print "## $a[0]\n"; next }
    printf "> %d %s %s\n", $step, $op, substr(join(' ', @a), 0, 100);
    if ($op eq 'query') { run_sql($a[0], 0, 0) }
    elsif ($op eq 'prepared') { run_sql($a[0], 1, 0, @a[1 .. $#a]) }
    elsif ($op eq 'digest') { run_sql($a[0], 0, 1) }
    elsif ($op eq 'digest_prepared') { run_sql($a[0], 1, 1, @a[1 .. $#a]) }
    elsif ($op eq 'begin') { $dbh->begin_work or err($dbh) }
    elsif ($op eq 'commit') { $dbh->commit or err($dbh) }
    elsif ($op eq 'rollback') { $dbh->rollback or err($dbh) }
    elsif ($op eq 'reset' || $op eq 'change_user') { print "unsupported\n" }
    else { die "unknown step $op\n" }
}
print "end\n";
