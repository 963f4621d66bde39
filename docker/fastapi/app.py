"""FastAPI with sync `def` endpoints: each runs in Starlette's thread pool
(40 threads), so /sleep blocks a thread for 0.1 s and /db and /items (CRUD:
GET and PUT /items/ID, GET /items?after=ID, POST /items) use PyMySQL."""
import time

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

import benchlib

app = FastAPI()
db = benchlib.SyncDb()


@app.get("/health", response_class=PlainTextResponse)
def health():
    return "ok"


@app.get("/sleep", response_class=PlainTextResponse)
def sleep():
    time.sleep(benchlib.SLEEP_S)
    return "ok"


@app.get("/db")
def db_lookup():
    return db.lookup()


@app.get("/items/{item_id}")
def item(item_id: int):
    return db.item(item_id)


@app.put("/items/{item_id}")
def touch(item_id: int):
    return db.touch(item_id)


@app.get("/items")
def page(after: int = 0):
    return db.page(after)


@app.post("/items", status_code=201)
def create():
    return db.create()
