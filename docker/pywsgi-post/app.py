"""The gevent pywsgi program of a published blog post, as it was written, and two others.

The post's program imports `sleep` from `time` and then calls
`monkey.patch_all()`. Patching replaces `time.sleep` in the `time` module, but
the name `sleep` in this module was bound before, to the blocking function: every
request blocks the one thread for 0.1 s, patched or not. The post measured about
10 req/s either way and concluded that patching does nothing.

PATCH picks the program:
  after-import   the post's: `from time import sleep`, then `monkey.patch_all()`
  before-import  `monkey.patch_all()` first, as gevent's documentation says
  none           no patching

usage: python app.py HOST PORT
"""
import os

PATCH = os.environ.get("PATCH", "after-import")

if PATCH == "before-import":
    from gevent import monkey

    monkey.patch_all()

from time import sleep  # noqa: E402  (the order is the point)

if PATCH == "after-import":
    from gevent import monkey

    monkey.patch_all()

import sys  # noqa: E402

from gevent.pywsgi import WSGIServer  # noqa: E402


def application(environ, start_response):
    if environ["PATH_INFO"] == "/sleep":
        sleep(0.1)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    WSGIServer((host, port), application, log=None, backlog=2048).serve_forever()
