"""FastAPI with `async def` endpoints on the event loop: asyncio.sleep,
aiomysql for /db, httpx for /upstream, and POST /login."""
import asyncio

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

import benchlib

app = FastAPI()
db = benchlib.AsyncDb()
client = None


@app.get("/health", response_class=PlainTextResponse)
async def health():
    return "ok"


@app.get("/sleep", response_class=PlainTextResponse)
async def sleep():
    await asyncio.sleep(benchlib.SLEEP_S)
    return "ok"


@app.get("/db")
async def db_lookup():
    return await db.lookup()


@app.get("/upstream", response_class=PlainTextResponse)
async def upstream():
    global client
    if client is None:
        client = httpx.AsyncClient(limits=httpx.Limits(max_connections=100), trust_env=False)
    response = await client.get(benchlib.upstream_url())
    return response.text


@app.post("/login")
async def login(request: Request):
    status, answer = benchlib.check_login(request.headers.get("token"), await request.body())
    if status == 200:
        await asyncio.sleep(benchlib.LOGIN_DELAY_S)
    return JSONResponse(answer, status_code=status)
