"""The Flask app (sync views) that the Flask, gevent and uWSGI scenarios serve.

GET /health answers "ok"; GET /sleep blocks 0.1 s in time.sleep (cooperative
only where gevent has patched it); GET /db looks a random row up in the
MariaDB sidecar; GET /upstream relays the upstream sidecar's answer;
POST /login checks a JSON body and a Token header, waits 0.2 s, answers JSON.
"""
import logging
import time

from flask import Flask, jsonify, request

import benchlib

app = Flask(__name__)
# The dev server logs every request; no other scenario keeps an access log.
logging.getLogger("werkzeug").setLevel(logging.ERROR)
db = benchlib.SyncDb()


@app.get("/health")
def health():
    return "ok"


@app.get("/sleep")
def sleep():
    time.sleep(benchlib.SLEEP_S)
    return "ok"


@app.get("/db")
def db_lookup():
    return jsonify(db.lookup())


@app.get("/upstream")
def upstream():
    return benchlib.fetch_upstream()


@app.post("/login")
def login():
    status, answer = benchlib.check_login(request.headers.get("Token"), request.get_data())
    if status == 200:
        time.sleep(benchlib.LOGIN_DELAY_S)
    return jsonify(answer), status
