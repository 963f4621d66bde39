"""The Flask app for the gunicorn + gevent scenario.

GET /health answers "ok" (framework overhead); GET /sleep blocks for 0.1 s in
time.sleep, which gunicorn's gevent worker has monkey-patched into a
cooperative sleep.
"""
import time

from flask import Flask

app = Flask(__name__)


@app.get("/health")
def health():
    return "ok"


@app.get("/sleep")
def sleep():
    time.sleep(0.1)
    return "ok"
