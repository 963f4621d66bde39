"""FastAPI with sync `def` endpoints: each runs in Starlette's thread pool
(40 threads), so /sleep blocks a thread for 0.1 s and /db uses PyMySQL."""
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
