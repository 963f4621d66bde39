# A tiny keep-alive HTTP server for stackbench's Docker tests: one process
# per connection, bound to 127.0.0.1:$STACKBENCH_PORT (or $PORT). `/status500` answers 500;
# EXIT_AFTER=N makes the whole server exit N seconds after it starts.
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
if (my $after = $ENV{EXIT_AFTER}) {
    $SIG{ALRM} = sub { print "exiting on purpose\n"; exit 3 };
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
                my $head = $1;
                my $status = $head =~ m{^\S+ /status500} ? '500 Oops' : '200 OK';
                syswrite($c, "HTTP/1.1 $status\r\nContent-Length: 2\r\n\r\nok");
            }
        }
        exit 0;
    }
    close $c;
}
