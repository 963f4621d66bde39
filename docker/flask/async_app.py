"""Flask with `async def` views (flask[async]): each request runs its
coroutine in an event loop of its own on the serving thread, so
asyncio.sleep does not free the thread for other requests."""
import asyncio
import logging

from flask import Flask

import benchlib

app = Flask(__name__)
logging.getLogger("werkzeug").setLevel(logging.ERROR)


@app.get("/health")
async def health():
    return "ok"


@app.get("/sleep")
async def sleep():
    await asyncio.sleep(benchlib.SLEEP_S)
    return "ok"
