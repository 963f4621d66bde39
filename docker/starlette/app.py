"""Starlette: GET /health, GET /sleep (asyncio.sleep 0.1 s), GET /db (aiomysql)."""
import asyncio

from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

import benchlib

db = benchlib.AsyncDb()


async def health(request):
    return PlainTextResponse("ok")


async def sleep(request):
    await asyncio.sleep(benchlib.SLEEP_S)
    return PlainTextResponse("ok")


async def db_lookup(request):
    return JSONResponse(await db.lookup())


app = Starlette(routes=[Route("/health", health), Route("/sleep", sleep), Route("/db", db_lookup)])
