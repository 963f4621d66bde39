# A worker that keeps 1 MiB for every request it answers, under a master that
# starts another whenever one ends, as gunicorn's does: at the container's
# memory limit the OOM killer ends the worker and the master replaces it.
import http.server
import os

import app

kept = []


class Handler(app.Handler):
    def work(self):
        kept.append(b"x" * (1 << 20))


server = http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["STACKBENCH_PORT"])), Handler)
while True:
    worker = os.fork()
    if worker == 0:
        server.serve_forever()
    _, status = os.waitpid(worker, 0)
    print(f"worker {worker} ended (wait status {status}); starting another", flush=True)
