# A worker that keeps 1 MiB for every request it answers, under a master that
# starts another whenever one ends, as gunicorn's does: at the container's
# memory limit the OOM killer ends the worker and the master replaces it.
import http.server
import os

kept = []


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = -1
    disable_nagle_algorithm = True

    def do_GET(self):
        kept.append(b"x" * (1 << 20))
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["STACKBENCH_PORT"])), Handler)
while True:
    worker = os.fork()
    if worker == 0:
        server.serve_forever()
    _, status = os.waitpid(worker, 0)
    print(f"worker {worker} ended (wait status {status}); starting another", flush=True)
