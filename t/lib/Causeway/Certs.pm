package Causeway::Certs;
# Test certificates made at test time with the openssl CLI: a CA and server
# certificates it signs for 127.0.0.1 (CN and subjectAltName IP), so that
# clients can verify the proxy (--ssl-verify-server-cert, verify-full).
#   my $ca = Causeway::Certs->new(dir => $t->dir, name => 'ca');
#   my ($cert, $key) = $ca->server('server1');     # files in dir
use strict;
use warnings;
use Causeway::Util qw(run_cmd spit);

sub _openssl {
    my ($dir, @args) = @_;
    my $r = run_cmd(['openssl', @args], dir => $dir, timeout => 60);
    die "openssl @args: exit $r->{exit}: $r->{err}\n" if $r->{exit};
    return $r;
}

sub new {
    my ($class, %o) = @_;
    my $self = bless { dir => $o{dir}, name => $o{name} // 'ca' }, $class;
    my $n = $self->{name};
    _openssl($self->{dir}, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
             '-keyout', "$self->{dir}/$n.key", '-out', "$self->{dir}/$n.pem", '-days', '2',
             '-subj', "/CN=Causeway test $n");
    return $self;
}

sub ca_file { "$_[0]{dir}/$_[0]{name}.pem" }

# A server certificate for 127.0.0.1 signed by this CA: (cert path, key path).
#   server($name, san => 'DNS:db.invalid') names something else instead.
sub server {
    my ($self, $name, %o) = @_;
    my $d = $self->{dir};
    spit("$d/$name.ext", 'subjectAltName = ' . ($o{san} // 'IP:127.0.0.1, DNS:localhost') . "\n");
    my $ca = "$d/$self->{name}";
    _openssl($d, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', "$d/$name.key",
             '-out', "$d/$name.csr", '-subj', "/CN=127.0.0.1/O=$name");
    _openssl($d, 'x509', '-req', '-in', "$d/$name.csr", '-CA', "$ca.pem", '-CAkey', "$ca.key", '-CAcreateserial',
             '-days', '2', '-extfile', "$d/$name.ext", '-out', "$d/$name.pem");
    chmod 0600, "$d/$name.key";
    return ("$d/$name.pem", "$d/$name.key");
}

1;
