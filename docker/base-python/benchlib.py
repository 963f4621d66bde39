"""What every Python scenario app shares: the delays, the /db lookup, the
/items CRUD queries, the /upstream call, the /login check and the session
token it gives (checked by /me), so that the frameworks differ only in how
they serve them.

Sidecars are found through the environment stackbench sets:
STACKBENCH_DB_HOST/PORT (MariaDB, see docker/mariadb) and
STACKBENCH_UPSTREAM_HOST/PORT (an HTTP service answering "ok").
"""
import hashlib
import hmac
import http.client
import json
import os
import queue
import random

SLEEP_S = 0.1
LOGIN_DELAY_S = 0.2
# What the scenarios send: scenarios/bodies/login.json and the Token header.
TOKEN = "stackbench-token"
USERNAME, PASSWORD = "bench", "bench-password"

DB_POOL = int(os.environ.get("DB_POOL", "16"))
QUERY = "SELECT id, name, create_time, update_time FROM items WHERE name = %s"
MAX_ID_QUERY = "SELECT MAX(id) FROM items"
# /items: by id, touched, a page after an id, and a new row.
ITEM_QUERY = "SELECT id, name, create_time, update_time FROM items WHERE id = %s"
TOUCH_QUERY = "UPDATE items SET update_time = NOW() WHERE id = %s"
PAGE_SIZE = 10
PAGE_QUERY = "SELECT id, name, create_time, update_time FROM items WHERE id > %s ORDER BY id LIMIT " + str(PAGE_SIZE)
CREATE_QUERY = "INSERT INTO items (name, create_time, update_time) VALUES (%s, NOW(), NOW())"
# Session tokens are signed, not stored: every worker process checks any worker's token.
SESSION_KEY = b"stackbench-session-key"


def db_params():
    return dict(
        host=os.environ.get("STACKBENCH_DB_HOST", "127.0.0.1"),
        port=int(os.environ.get("STACKBENCH_DB_PORT", "3306")),
        user="bench",
        password="bench",
        database="bench",
        autocommit=True,
    )


def random_name(max_id):
    return "name-%d" % random.randint(1, max_id)


def seeded_id(raw, max_id):
    """The id `raw` (a path or query value) names among the seeded 1..max_id: ids past the table wrap
    around, so a scenario's {rand:1..1000000} finds rows in CI's 1,000-row table too. ValueError if not a
    whole number."""
    n = int(raw)
    if n < 0:
        raise ValueError("negative id")
    return (n - 1) % max_id + 1 if n else 0


def row_json(row):
    if row is None:
        return {"found": False}
    id_, name, created, updated = row
    return {"id": id_, "name": name, "create_time": created.isoformat(), "update_time": updated.isoformat()}


class SyncDb:
    """A bounded pool of PyMySQL connections (threads or gevent greenlets share it)."""

    def __init__(self, size=DB_POOL):
        import pymysql

        self._connect = lambda: pymysql.connect(**db_params())
        self._slots = queue.LifoQueue()
        for _ in range(size):
            self._slots.put(None)
        self._max_id = None

    def _run(self, sql, args=None, rows=False):
        """The first row (`rows`: all of them) of `sql`; for an INSERT, the new id."""
        conn = self._slots.get()
        try:
            if conn is None:
                conn = self._connect()
            with conn.cursor() as cur:
                cur.execute(sql, args)
                if sql.startswith("INSERT"):
                    return cur.lastrowid
                return cur.fetchall() if rows else cur.fetchone()
        except Exception:
            if conn is not None:
                conn.close()
            conn = None
            raise
        finally:
            self._slots.put(conn)

    def _seeded(self):
        if self._max_id is None:
            self._max_id = self._run(MAX_ID_QUERY)[0] or 1
        return self._max_id

    def lookup(self):
        return row_json(self._run(QUERY, (random_name(self._seeded()),)))

    def item(self, raw_id):
        return row_json(self._run(ITEM_QUERY, (seeded_id(raw_id, self._seeded()),)))

    def touch(self, raw_id):
        item_id = seeded_id(raw_id, self._seeded())
        self._run(TOUCH_QUERY, (item_id,))
        return row_json(self._run(ITEM_QUERY, (item_id,)))

    def page(self, raw_after):
        return [row_json(r) for r in self._run(PAGE_QUERY, (seeded_id(raw_after, self._seeded()),), rows=True)]

    def create(self):
        return {"id": self._run(CREATE_QUERY, (new_name(),))}


class AsyncDb:
    """An aiomysql pool, made on first use inside the serving event loop."""

    def __init__(self, size=DB_POOL):
        self._size = size
        self._pool = None
        self._max_id = None

    async def _run(self, sql, args=None, rows=False):
        """As SyncDb._run."""
        import aiomysql

        if self._pool is None:
            params = db_params()
            params["db"] = params.pop("database")
            pool = await aiomysql.create_pool(minsize=1, maxsize=self._size, **params)
            if self._pool is None:
                self._pool = pool
            else:
                pool.close()
        async with self._pool.acquire() as conn:
            async with conn.cursor() as cur:
                await cur.execute(sql, args)
                if sql.startswith("INSERT"):
                    return cur.lastrowid
                return await (cur.fetchall() if rows else cur.fetchone())

    async def _seeded(self):
        if self._max_id is None:
            self._max_id = (await self._run(MAX_ID_QUERY))[0] or 1
        return self._max_id

    async def lookup(self):
        return row_json(await self._run(QUERY, (random_name(await self._seeded()),)))

    async def item(self, raw_id):
        return row_json(await self._run(ITEM_QUERY, (seeded_id(raw_id, await self._seeded()),)))

    async def touch(self, raw_id):
        item_id = seeded_id(raw_id, await self._seeded())
        await self._run(TOUCH_QUERY, (item_id,))
        return row_json(await self._run(ITEM_QUERY, (item_id,)))

    async def page(self, raw_after):
        after = seeded_id(raw_after, await self._seeded())
        return [row_json(r) for r in await self._run(PAGE_QUERY, (after,), rows=True)]

    async def create(self):
        return {"id": await self._run(CREATE_QUERY, (new_name(),))}


def new_name():
    return "new-%016x" % random.getrandbits(64)


def upstream_address():
    return os.environ.get("STACKBENCH_UPSTREAM_HOST", "127.0.0.1"), int(os.environ.get("STACKBENCH_UPSTREAM_PORT", "0"))


def upstream_url():
    host, port = upstream_address()
    return "http://%s:%d/health" % (host, port)


def fetch_upstream():
    """GET the upstream's /health (blocking; cooperative once gevent has patched sockets)."""
    host, port = upstream_address()
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().read().decode()
    finally:
        conn.close()


def check_login(token, body):
    """(status, JSON answer) for a login request with header `token` and JSON `body` (bytes)."""
    if token != TOKEN:
        return 401, {"ok": False, "error": "bad token"}
    try:
        data = json.loads(body)
    except ValueError:
        return 400, {"ok": False, "error": "body is not JSON"}
    if not isinstance(data, dict) or data.get("username") != USERNAME or data.get("password") != PASSWORD:
        return 401, {"ok": False, "error": "bad credentials"}
    return 200, {"ok": True, "user": USERNAME, "token": new_session()}


def new_session():
    """A session token for USERNAME: a random nonce and its signature."""
    nonce = "%016x" % random.getrandbits(64)
    return nonce + "." + hmac.new(SESSION_KEY, nonce.encode(), hashlib.sha256).hexdigest()


def check_session(authorization):
    """(status, JSON answer) for GET /me with header `authorization` ("Bearer TOKEN", from /login)."""
    token = (authorization or "").removeprefix("Bearer ")
    nonce, _, signature = token.partition(".")
    expected = hmac.new(SESSION_KEY, nonce.encode(), hashlib.sha256).hexdigest()
    if not nonce or not hmac.compare_digest(signature, expected):
        return 401, {"ok": False, "error": "no session: log in at POST /login and send its token as Bearer"}
    return 200, {"ok": True, "user": USERNAME}
