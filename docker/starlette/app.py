"""Starlette: GET /health, GET /sleep (asyncio.sleep 0.1 s), GET /db and
/items (aiomysql; CRUD: GET and PUT /items/ID, GET /items?after=ID, POST
/items)."""
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


async def item(request):
    item_id = request.path_params["item_id"]
    if request.method == "PUT":
        return JSONResponse(await db.touch(item_id))
    return JSONResponse(await db.item(item_id))


async def items(request):
    if request.method == "POST":
        return JSONResponse(await db.create(), status_code=201)
    try:
        return JSONResponse(await db.page(request.query_params.get("after", "0")))
    except ValueError:
        return JSONResponse({"ok": False, "error": "after must be a whole number"}, status_code=400)


app = Starlette(
    routes=[
        Route("/health", health),
        Route("/sleep", sleep),
        Route("/db", db_lookup),
        Route("/items/{item_id:int}", item, methods=["GET", "PUT"]),
        Route("/items", items, methods=["GET", "POST"]),
    ]
)
