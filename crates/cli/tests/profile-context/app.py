# Answers every request after burning a little CPU in burn_cpu_here, the
# function the profiler's test expects at the top of the profile. grow.py
# answers the same way (Handler.work is what each does first).
import http.server
import os


def burn_cpu_here():
    total = 0
    for i in range(300000):
        total += i * i
    return total


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body in one write: two small writes would wait out delayed ACKs (40 ms each).
    wbufsize = -1
    disable_nagle_algorithm = True

    def work(self):
        burn_cpu_here()

    def do_GET(self):
        self.work()
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(os.environ.get("STACKBENCH_PORT") or os.environ.get("PORT") or 8080)
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
