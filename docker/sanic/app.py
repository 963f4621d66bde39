"""Sanic: GET /health answers "ok"; GET /sleep awaits asyncio.sleep(0.1)."""
import asyncio

from sanic import Sanic
from sanic.response import text

import benchlib

app = Sanic("stackbench")
# Sanic's "fast mode" would start one worker per host CPU; the scenario sets workers explicitly.
app.config.ACCESS_LOG = False


@app.get("/health")
async def health(request):
    return text("ok")


@app.get("/sleep")
async def sleep(request):
    await asyncio.sleep(benchlib.SLEEP_S)
    return text("ok")
