# A tiny keep-alive HTTP server for stackbench's Docker tests: one process
# per connection, bound to 127.0.0.1:$STACKBENCH_PORT (or $PORT). `/status500` answers 500;
# `/sidecar` asks the sidecar named "upstream" (STACKBENCH_UPSTREAM_PORT) for /health;
# EXIT_AFTER=N makes the whole server exit N seconds after it starts; STALL_AFTER=N
# makes it stop accepting connections then (open ones are still served).
# `/redirect` answers 302 to $REDIRECT_TO. `/fault/KIND` answers "ok" until
# FAULT_AFTER seconds after the start, then misbehaves: stall, close (mid-response),
# malformed, endless (body), huge-headers, status (500 to everything, kept alive).
# ALSO_BIND=ADDR listens on ADDR too. SLOW=SECONDS makes every response wait that long first.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Handle;

STDOUT->autoflush(1);
$SIG{CHLD} = 'IGNORE';
my $port = $ENV{STACKBENCH_PORT} || $ENV{PORT} || 8080;
my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port, Listen => 1024, ReuseAddr => 1)
    or die "cannot listen on 127.0.0.1:$port: $!\n";
print "listening on 127.0.0.1:$port\n";
# ALSO_BIND=ADDR: a second listener on that address, as a server bound to more than loopback has.
my $also = $ENV{ALSO_BIND}
    && IO::Socket::INET->new(LocalAddr => $ENV{ALSO_BIND}, LocalPort => $port, Listen => 1, ReuseAddr => 1);
my $faults_from = uptime() + ($ENV{FAULT_AFTER} // 0);
if (my $after = $ENV{EXIT_AFTER}) {
    $SIG{ALRM} = sub { print "exiting on purpose\n"; exit 3 };
    alarm $after;
}
if (my $after = $ENV{STALL_AFTER}) {
    $SIG{ALRM} = sub { print "stalling on purpose\n"; sleep 3600 while 1 };
    alarm $after;
}
while (1) {
    my $c = $srv->accept or next;
    my $pid = fork;
    if (defined $pid && $pid == 0) {
        close $srv;
        my $buf = '';
        while (sysread($c, $buf, 65536, length $buf)) {
            while ($buf =~ s/^(.*?)\r\n\r\n//s) {
                my ($path) = $1 =~ m{^\S+ (\S+)};
                my ($status, $body) = ('200 OK', 'ok');
                if ($path eq '/status500') { $status = '500 Oops' }
                elsif ($path eq '/sidecar') { ($status, $body) = upstream() }
                elsif ($path eq '/redirect') {
                    syswrite($c, "HTTP/1.1 302 Found\r\nLocation: $ENV{REDIRECT_TO}\r\nContent-Length: 0\r\n\r\n");
                    next;
                }
                elsif ($path eq '/fault/status' && uptime() >= $faults_from) {
                    print "faulting on purpose: status\n";
                    ($status, $body) = ('500 Oops', 'no');
                }
                elsif ($path =~ m{^/fault/(.+)} && uptime() >= $faults_from) { fault($c, $1) }
                select(undef, undef, undef, $ENV{SLOW}) if $ENV{SLOW};
                syswrite($c, "HTTP/1.1 $status\r\nContent-Length: " . length($body) . "\r\n\r\n$body");
            }
        }
        exit 0;
    }
    close $c;
}

# One request to the upstream sidecar: 200 if it answered "ok", 502 otherwise.
sub upstream {
    my $port = $ENV{STACKBENCH_UPSTREAM_PORT} or return ('502 Bad Gateway', 'no STACKBENCH_UPSTREAM_PORT');
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 2)
        or return ('502 Bad Gateway', "cannot reach the upstream: $!");
    syswrite($s, "GET /health HTTP/1.1\r\nHost: upstream\r\n\r\n");
    sysread($s, my $reply, 4096);
    close $s;
    return ($reply // '') =~ /\r\n\r\nok$/ ? ('200 OK', 'reached upstream') : ('502 Bad Gateway', 'bad upstream reply');
}

# Misbehaves on connection $c as `kind` says, then ends this connection's process.
sub fault {
    my ($c, $kind) = @_;
    print "faulting on purpose: $kind\n";
    if ($kind eq 'stall') { sleep 10 }
    elsif ($kind eq 'close') { syswrite($c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part") }
    elsif ($kind eq 'malformed') { syswrite($c, "garbage\r\n\r\n") }
    elsif ($kind eq 'endless') {
        syswrite($c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        my $chunk = sprintf("%x\r\n%s\r\n", 65536, 'x' x 65536);
        1 while syswrite($c, $chunk);
    }
    elsif ($kind eq 'huge-headers') {
        syswrite($c, "HTTP/1.1 200 OK\r\n");
        my $line = 'X-Big: ' . ('a' x 65536) . "\r\n";
        1 while syswrite($c, $line);
    }
    exit 0;
}

# Seconds since boot, to a hundredth (perl-base has no Time::HiRes).
sub uptime {
    open(my $f, '<', '/proc/uptime') or die "cannot read /proc/uptime: $!\n";
    my ($up) = split ' ', scalar <$f>;
    return $up;
}
