package IdleClients;
# Many logged-in, idle MySQL client connections from one process: each is a
# Causeway::Wire client that reads the greeting and logs in with mysql_native_password,
# then sits still. Used to measure a proxy's memory per idle client connection.
use strict;
use warnings;
use Time::HiRes qw(time);
use Causeway::Wire;

# open_clients(port => P, count => N, user => 'app', password => 'secret', db => undef,
#              timeout => 120, max_failures => 0)
# Returns { clients => [Wire...], opened => N, failures => F, error => undef|MESSAGE (the
# first failure), seconds => S }. Gives up after more than max_failures failed logins or
# when the time budget runs out.
sub open_clients {
    my (%o) = @_;
    my $deadline = time + ($o{timeout} // 120);
    my $max_failures = $o{max_failures} // 0;
    my $t0 = time;
    my (@clients, $error);
    my $failures = 0;
    while (@clients < $o{count}) {
        if (time > $deadline) { $error //= 'time budget exhausted'; last }
        my $why;
        my $w = eval { Causeway::Wire->new(port => $o{port}, timeout => 10) };
        if ($w) {
            my $r = $w->login(user => $o{user} // 'app', password => $o{password} // 'secret',
                              defined $o{db} ? (db => $o{db}) : ());
            if ($r->{type} eq 'ok') { push @clients, $w; next }
            $why = "login #" . (@clients + $failures + 1) . ": $r->{type}"
                 . ($r->{message} ? " ($r->{code}: $r->{message})" : '');
            $w->close;
        } else {
            $why = 'connect: ' . ($@ || 'failed');
            chomp $why;
        }
        $error //= $why;
        last if ++$failures > $max_failures;
    }
    return { clients => \@clients, opened => scalar @clients, failures => $failures,
             error => $error, seconds => time - $t0 };
}

# Sends COM_QUIT on each and closes them.
sub close_clients {
    my ($clients) = @_;
    for my $w (@$clients) {
        $w->command(Causeway::Wire::COM_QUIT());
        $w->close;
    }
    @$clients = ();
}

1;
