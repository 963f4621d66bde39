"""The Flask app (sync views) that the Flask, gevent and uWSGI scenarios serve.

GET /health answers "ok"; GET /sleep blocks 0.1 s in time.sleep (cooperative
only where gevent has patched it); GET /db looks a random row up in the
MariaDB sidecar; GET /upstream relays the upstream sidecar's answer;
POST /login checks a JSON body and a Token header, waits 0.2 s, answers JSON
with a session token, which GET /me checks (Authorization: Bearer TOKEN);
/items is CRUD on the sidecar's table: GET and PUT /items/ID, GET
/items?after=ID (a page of 10), POST /items (201).
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


@app.get("/items/<int:item_id>")
def item(item_id):
    return jsonify(db.item(item_id))


@app.put("/items/<int:item_id>")
def touch(item_id):
    return jsonify(db.touch(item_id))


@app.get("/items")
def page():
    try:
        return jsonify(db.page(request.args.get("after", "0")))
    except ValueError:
        return jsonify({"ok": False, "error": "after must be a whole number"}), 400


@app.post("/items")
def create():
    return jsonify(db.create()), 201


@app.get("/me")
def me():
    status, answer = benchlib.check_session(request.headers.get("Authorization"))
    return jsonify(answer), status


@app.get("/upstream")
def upstream():
    return benchlib.fetch_upstream()


@app.post("/login")
def login():
    status, answer = benchlib.check_login(request.headers.get("Token"), request.get_data())
    if status == 200:
        time.sleep(benchlib.LOGIN_DELAY_S)
    return jsonify(answer), status
