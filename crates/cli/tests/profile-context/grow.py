# A worker that keeps 16 MiB for every request it answers, under a master that
# starts another whenever one ends, as gunicorn's does: at the container's
# memory limit the OOM killer ends the worker and the master replaces it. Steps
# this large jump past the point where the kernel would rather evict the
# worker's own code pages than kill it (1 MiB steps could thrash there for
# seconds, answering nothing and killing nothing).
import http.server
import os

import app

kept = []


class Handler(app.Handler):
    def work(self):
        kept.append(b"x" * (16 << 20))


server = http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["STACKBENCH_PORT"])), Handler)
while True:
    worker = os.fork()
    if worker == 0:
        server.serve_forever()
    _, status = os.waitpid(worker, 0)
    print(f"worker {worker} ended (wait status {status}); starting another", flush=True)
