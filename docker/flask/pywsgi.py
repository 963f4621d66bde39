"""app.py under gevent's pywsgi.WSGIServer, one process.

With GEVENT_PATCH=1 the standard library is monkey-patched first, so
time.sleep and sockets yield to other greenlets; without it a blocking
sleep holds the only thread, and requests are served one at a time.

usage: python pywsgi.py HOST PORT
"""
import os
import sys

if os.environ.get("GEVENT_PATCH") == "1":
    from gevent import monkey

    monkey.patch_all()

from gevent.pywsgi import WSGIServer

from app import app

if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    WSGIServer((host, port), app, log=None, backlog=2048).serve_forever()
