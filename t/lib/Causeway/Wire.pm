package Causeway::Wire;
# A tiny raw MySQL/MariaDB protocol client for tests that need byte-level control: read the
# handshake, log in with mysql_native_password (following an auth switch), send commands or
# arbitrary bytes, and read OK/ERR/EOF/result-set packets with bounded waits.
# It is a test tool, not a driver: no TLS, no compression, text protocol only.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Digest::SHA qw(sha1);
use Time::HiRes qw(time);
use Exporter 'import';

use constant {
    CLIENT_MYSQL                  => 0x00000001,
    CLIENT_FOUND_ROWS             => 0x00000002,
    CLIENT_LONG_FLAG              => 0x00000004,
    CLIENT_CONNECT_WITH_DB        => 0x00000008,
    CLIENT_PROTOCOL_41            => 0x00000200,
    CLIENT_TRANSACTIONS           => 0x00002000,
    CLIENT_SECURE_CONNECTION      => 0x00008000,
    CLIENT_MULTI_STATEMENTS       => 0x00010000,
    CLIENT_MULTI_RESULTS          => 0x00020000,
    CLIENT_PS_MULTI_RESULTS       => 0x00040000,
    CLIENT_PLUGIN_AUTH            => 0x00080000,
    CLIENT_CONNECT_ATTRS          => 0x00100000,
    CLIENT_PLUGIN_AUTH_LENENC     => 0x00200000,
    CLIENT_SESSION_TRACK          => 0x00800000,
    CLIENT_DEPRECATE_EOF          => 0x01000000,
    SERVER_MORE_RESULTS_EXISTS    => 0x0008,
    COM_QUIT => 0x01, COM_INIT_DB => 0x02, COM_QUERY => 0x03, COM_FIELD_LIST => 0x04,
    COM_STATISTICS => 0x09, COM_PING => 0x0e, COM_CHANGE_USER => 0x11,
    COM_SET_OPTION => 0x1b, COM_RESET_CONNECTION => 0x1f,
};

our @EXPORT_OK = qw(native_password CLIENT_CONNECT_WITH_DB CLIENT_CONNECT_ATTRS
  CLIENT_MULTI_STATEMENTS CLIENT_DEPRECATE_EOF COM_QUIT COM_INIT_DB COM_QUERY COM_FIELD_LIST
  COM_STATISTICS COM_PING COM_CHANGE_USER COM_SET_OPTION COM_RESET_CONNECTION);

# mysql_native_password: SHA1(pw) XOR SHA1(scramble . SHA1(SHA1(pw))); empty for no password.
sub native_password {
    my ($password, $scramble) = @_;
    return '' unless defined $password && length $password;
    my $h1 = sha1($password);
    my $h2 = sha1($h1);
    return $h1 ^ sha1(substr($scramble, 0, 20) . $h2);
}

# new(port => P, host => '127.0.0.1', timeout => 10, rcvbuf => BYTES): connects and reads the
# server's handshake (unless no_handshake => 1). Dies when it cannot connect.
sub new {
    my ($class, %o) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => $o{host} // '127.0.0.1', PeerPort => $o{port},
                                     Proto => 'tcp', Timeout => $o{timeout} // 10)
        or die "connect 127.0.0.1:$o{port}: $!\n";
    setsockopt($sock, SOL_SOCKET, SO_RCVBUF, $o{rcvbuf}) if $o{rcvbuf};
    binmode $sock;
    my $self = bless { sock => $sock, buf => '', seq => 0, timeout => $o{timeout} // 10,
                       eof => 0 }, $class;
    $self->read_handshake unless $o{no_handshake};
    return $self;
}

sub sock       { $_[0]{sock} }
sub local_port { $_[0]{sock}->sockport }
sub handshake  { $_[0]{handshake} }
sub eof        { $_[0]{eof} }
sub timed_out  { $_[0]{timed_out} }

# Fills the buffer to at least $n bytes before the deadline; false on EOF or time-out.
sub _fill {
    my ($self, $n, $deadline) = @_;
    my $sel;
    while (length($self->{buf}) < $n) {
        $sel //= IO::Select->new($self->{sock});
        my $left = $deadline - time;
        if ($left <= 0 || !$sel->can_read($left)) { $self->{timed_out} = 1; return 0 }
        my $got = sysread($self->{sock}, $self->{buf}, 1 << 20, length $self->{buf});
        if (!defined $got) {
            next if $!{EINTR} || $!{EAGAIN};
            $self->{eof} = 1; $self->{error} = "$!"; return 0;
        }
        if ($got == 0) { $self->{eof} = 1; return 0 }
    }
    return 1;
}

# Reads one logical packet (joining 16 MiB continuation packets).
# Returns the payload (and sets {seq}); undef on EOF ({eof}) or time-out ({timed_out}).
sub read_packet {
    my ($self, $timeout) = @_;
    $self->{timed_out} = 0;
    my $deadline;
    my $payload = '';
    while (1) {
        # Fast path: a whole packet is already buffered (no clock, no select).
        if (length($self->{buf}) < 4 || length($self->{buf}) < 4 + _len($self->{buf})) {
            $deadline //= time + ($timeout // $self->{timeout});
            $self->_fill(4, $deadline) or return undef;
            $self->_fill(4 + _len($self->{buf}), $deadline) or return undef;
        }
        my $len = _len($self->{buf});
        my $seq = ord substr($self->{buf}, 3, 1);
        $payload .= substr($self->{buf}, 4, $len);
        substr($self->{buf}, 0, 4 + $len, '');
        $self->{seq} = ($seq + 1) & 0xff;
        return $payload if $len < 0xffffff;
    }
}

sub _len { return unpack('V', substr($_[0], 0, 3) . "\0") }

# Reads and drops bytes until $bytes have been read, EOF or time-out; returns the count.
sub discard_bytes {
    my ($self, $bytes, $timeout) = @_;
    my $deadline = time + ($timeout // $self->{timeout});
    my $n = length $self->{buf};
    $self->{buf} = '';
    my $sel = IO::Select->new($self->{sock});
    while ($n < $bytes) {
        my $left = $deadline - time;
        last if $left <= 0 || !$sel->can_read($left);
        my $got = sysread($self->{sock}, my $chunk, 1 << 16);
        last unless $got;
        $n += $got;
    }
    return $n;
}

# Writes one packet with sequence id $seq (default: the next in the exchange), splitting
# payloads of 16 MiB and more. Returns false when the write fails.
sub send_packet {
    my ($self, $payload, $seq) = @_;
    $seq //= $self->{seq};
    my $out = '';
    while (1) {
        my $chunk = substr($payload, 0, 0xffffff, '');
        $out .= substr(pack('V', length $chunk), 0, 3) . chr($seq & 0xff) . $chunk;
        $seq++;
        last if length($chunk) < 0xffffff;
    }
    $self->{seq} = $seq & 0xff;
    return $self->send_raw($out);
}

sub send_raw {
    my ($self, $bytes) = @_;
    local $SIG{PIPE} = 'IGNORE';
    my $off = 0;
    while ($off < length $bytes) {
        my $w = syswrite($self->{sock}, $bytes, length($bytes) - $off, $off);
        return 0 unless defined $w;
        $off += $w;
    }
    return 1;
}

# A command starts a new exchange at sequence id 0.
sub command {
    my ($self, $cmd, $arg) = @_;
    return $self->send_packet(chr($cmd) . ($arg // ''), 0);
}

sub _lenenc_int {
    my ($s, $pos) = @_;    # returns (value, new pos); value undef for 0xfb (NULL)
    my $c = ord substr($$s, $pos, 1);
    return ($c, $pos + 1) if $c < 0xfb;
    return (undef, $pos + 1) if $c == 0xfb;
    return (unpack('v', substr($$s, $pos + 1, 2)), $pos + 3) if $c == 0xfc;
    return (unpack('V', substr($$s, $pos + 1, 3) . "\0"), $pos + 4) if $c == 0xfd;
    return (unpack('Q<', substr($$s, $pos + 1, 8)), $pos + 9);
}

sub _lenenc_str {
    my ($s, $pos) = @_;
    my ($len, $p) = _lenenc_int($s, $pos);
    return (undef, $p) unless defined $len;
    return (substr($$s, $p, $len), $p + $len);
}

sub lenenc {
    my ($n) = @_;
    return chr($n) if $n < 0xfb;
    return "\xfc" . pack('v', $n) if $n < 1 << 16;
    return "\xfd" . substr(pack('V', $n), 0, 3) if $n < 1 << 24;
    return "\xfe" . pack('Q<', $n);
}

sub read_handshake {
    my ($self) = @_;
    my $p = $self->read_packet // die "no handshake from the server\n";
    my %h;
    if (ord($p) == 0xff) {
        $self->{handshake} = { error => _parse_err($p) };
        return $self->{handshake};
    }
    $h{protocol} = ord $p;
    my $pos = 1;
    my $nul = index($p, "\0", $pos);
    $h{server_version} = substr($p, $pos, $nul - $pos);
    $pos = $nul + 1;
    $h{connection_id} = unpack('V', substr($p, $pos, 4)); $pos += 4;
    my $s1 = substr($p, $pos, 8); $pos += 9;
    my $cap_lo = unpack('v', substr($p, $pos, 2)); $pos += 2;
    $h{charset} = ord substr($p, $pos, 1); $pos += 1;
    $h{status} = unpack('v', substr($p, $pos, 2)); $pos += 2;
    my $cap_hi = unpack('v', substr($p, $pos, 2)); $pos += 2;
    $h{capabilities} = $cap_lo | ($cap_hi << 16);
    my $auth_len = ord substr($p, $pos, 1); $pos += 1;
    $h{mariadb_caps} = unpack('V', substr($p, $pos + 6, 4)); $pos += 10;
    my $s2_len = $auth_len > 8 ? $auth_len - 8 : 13;
    my $s2 = substr($p, $pos, $s2_len); $pos += $s2_len;
    $s2 =~ s/\0$//;
    $h{scramble} = $s1 . $s2;
    if ($pos < length $p) {
        $nul = index($p, "\0", $pos);
        $h{auth_plugin} = substr($p, $pos, $nul < 0 ? length($p) - $pos : $nul - $pos);
    }
    return $self->{handshake} = \%h;
}

sub _parse_err {
    my ($p) = @_;
    my %e = (type => 'err', code => unpack('v', substr($p, 1, 2)));
    if (substr($p, 3, 1) eq '#') {
        $e{state} = substr($p, 4, 5);
        $e{message} = substr($p, 9);
    } else {
        $e{message} = substr($p, 3);
    }
    return \%e;
}

sub _parse_ok {
    my ($p) = @_;
    my %r = (type => 'ok');
    my $pos = 1;
    ($r{affected}, $pos) = _lenenc_int(\$p, $pos);
    ($r{insert_id}, $pos) = _lenenc_int(\$p, $pos);
    ($r{status}, $r{warnings}) = unpack('vv', substr($p, $pos, 4));
    $r{info} = substr($p, $pos + 4);
    return \%r;
}

# Builds and sends HandshakeResponse41. Options:
#   user, password, db, attrs => { k => v }, plugin => NAME (default the server's),
#   auth_data => BYTES (default: native password for the handshake scramble),
#   caps_add, caps_remove, charset => 45, max_packet => 16M,
#   mariadb_caps => N (MariaDB's extended capabilities; clears CLIENT_MYSQL to send them)
sub send_login {
    my ($self, %o) = @_;
    my $h = $self->{handshake};
    my $plugin = $o{plugin} // 'mysql_native_password';
    my $auth = exists $o{auth_data} ? $o{auth_data} : native_password($o{password}, $h->{scramble});
    my $caps = CLIENT_MYSQL | CLIENT_LONG_FLAG | CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS
             | CLIENT_SECURE_CONNECTION | CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS
             | CLIENT_PS_MULTI_RESULTS | CLIENT_PLUGIN_AUTH | CLIENT_PLUGIN_AUTH_LENENC;
    $caps |= CLIENT_CONNECT_WITH_DB if defined $o{db};
    $caps |= CLIENT_CONNECT_ATTRS if $o{attrs};
    $caps |= $o{caps_add} // 0;
    $caps &= ~($o{caps_remove} // 0);
    $caps &= ~CLIENT_MYSQL if defined $o{mariadb_caps};
    $caps &= $h->{capabilities} | CLIENT_MYSQL unless $o{no_cap_mask};
    $self->{caps} = $caps;
    my $pkt = pack('VVC', $caps, $o{max_packet} // 16 * 1024 * 1024, $o{charset} // 45)
            . ("\0" x 19) . pack('V', ($caps & CLIENT_MYSQL) ? 0 : $o{mariadb_caps} // 0) . ($o{user} // '') . "\0";
    if ($caps & CLIENT_PLUGIN_AUTH_LENENC) { $pkt .= lenenc(length $auth) . $auth }
    else { $pkt .= chr(length $auth) . $auth }
    $pkt .= $o{db} . "\0" if $caps & CLIENT_CONNECT_WITH_DB;
    $pkt .= $plugin . "\0" if $caps & CLIENT_PLUGIN_AUTH;
    if ($caps & CLIENT_CONNECT_ATTRS) {
        my $a = join '', map { lenenc(length $_) . $_ } map { ($_, $o{attrs}{$_}) }
                sort keys %{ $o{attrs} };
        $pkt .= lenenc(length $a) . $a;
    }
    return $self->send_packet($pkt, 1);
}

# Logs in (see send_login), following an auth switch to mysql_native_password.
# Returns { type => 'ok', ... } or { type => 'err', code, state, message } or
# { type => 'closed' }. Records {auth_switch} = the plugin the server switched to.
sub login {
    my ($self, %o) = @_;
    return { type => 'err', %{ $self->{handshake}{error} } } if $self->{handshake}{error};
    $self->send_login(%o) or return { type => 'closed' };
    for (1 .. 3) {
        my $p = $self->read_packet // return { type => 'closed' };
        my $c = ord $p;
        return _parse_ok($p) if $c == 0x00;
        return _parse_err($p) if $c == 0xff;
        if ($c == 0xfe) {
            my $nul = index($p, "\0", 1);
            my $plugin = substr($p, 1, $nul - 1);
            my $data = substr($p, $nul + 1);
            $data =~ s/\0$//;
            $self->{auth_switch} = $plugin;
            return { type => 'unsupported', plugin => $plugin }
                unless $plugin eq 'mysql_native_password';
            $self->send_packet(native_password($o{password}, $data)) or return { type => 'closed' };
            next;
        }
        return { type => 'unexpected', byte => $c, payload => $p };
    }
    return { type => 'unexpected' };
}

# Reads one response to a command: OK, ERR, EOF, a whole result set, or raw bytes.
#   { type => 'ok'|'err'|'eof'|'rows'|'raw'|'closed'|'timeout', ... }
# A result set: { type => 'rows', columns => [names], rows => [[...]], status, more }.
sub read_response {
    my ($self, $timeout) = @_;
    my $p = $self->read_packet($timeout);
    return { type => $self->{timed_out} ? 'timeout' : 'closed' } unless defined $p;
    my $c = length $p ? ord $p : -1;
    return _parse_ok($p) if $c == 0x00 && length $p >= 7;
    return _parse_err($p) if $c == 0xff;
    if ($c == 0xfe && length $p < 9) {
        my ($w, $st) = unpack('vv', substr($p, 1, 4));
        return { type => 'eof', warnings => $w, status => $st };
    }
    return { type => 'raw', payload => $p } if $c == 0xfb || $c <= 0 || $self->{raw_next};
    my (@cols, @rows);
    my ($ncols) = _lenenc_int(\$p, 0);
    return { type => 'raw', payload => $p } unless $ncols;
    for (1 .. $ncols) {
        my $cd = $self->read_packet($timeout) // return { type => 'closed' };
        push @cols, _column_name($cd);
    }
    my $deprecate_eof = ($self->{caps} // 0) & CLIENT_DEPRECATE_EOF;
    unless ($deprecate_eof) {
        my $e = $self->read_packet($timeout) // return { type => 'closed' };
    }
    while (1) {
        my $r = $self->read_packet($timeout) // return { type => 'closed', partial_rows => scalar @rows };
        my $rc = ord $r;
        return { %{ _parse_err($r) }, partial_rows => scalar @rows } if $rc == 0xff;
        if ($rc == 0xfe && length $r < 0xffffff) {
            my $st;
            if ($deprecate_eof) { $st = _parse_ok($r)->{status} }
            else { (undef, $st) = unpack('vv', substr($r, 1, 4)) }
            return { type => 'rows', columns => \@cols, rows => \@rows, status => $st,
                     more => ($st & SERVER_MORE_RESULTS_EXISTS) ? 1 : 0 };
        }
        my (@row, $v);
        my $pos = 0;
        for (1 .. $ncols) { ($v, $pos) = _lenenc_str(\$r, $pos); push @row, $v }
        push @rows, \@row;
    }
}

sub _column_name {
    my ($cd) = @_;
    my $pos = 0;
    my $v;
    ($v, $pos) = _lenenc_str(\$cd, $pos) for 1 .. 5;    # catalog schema table org_table name
    return $v;
}

# COM_QUERY and every result that follows (multi-statement / CALL): a list of responses.
sub query {
    my ($self, $sql, $timeout) = @_;
    $self->command(COM_QUERY, $sql) or return ({ type => 'closed' });
    return $self->read_all($timeout);
}

sub read_all {
    my ($self, $timeout) = @_;
    my @res;
    for (1 .. 1000) {
        my $r = $self->read_response($timeout);
        push @res, $r;
        my $more = $r->{type} eq 'rows' ? $r->{more}
                 : $r->{type} eq 'ok'   ? ($r->{status} & SERVER_MORE_RESULTS_EXISTS)
                 : 0;
        last unless $more;
    }
    return @res;
}

# True when the peer closes the connection within $timeout seconds (pending bytes are read
# and dropped).
sub closed_within {
    my ($self, $timeout) = @_;
    my $deadline = time + $timeout;
    my $sel = IO::Select->new($self->{sock});
    return 1 if $self->{eof};
    while (time < $deadline) {
        next unless $sel->can_read($deadline - time);
        my $got = sysread($self->{sock}, my $junk, 65536);
        return 1 if !defined $got || $got == 0;
    }
    return 0;
}

sub close {
    my ($self) = @_;
    close $self->{sock} if $self->{sock};
    $self->{sock} = undef;
}

1;
