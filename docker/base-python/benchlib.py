"""What every Python scenario app shares: the delays, the /db lookup, the
/upstream call and the /login check, so that the frameworks differ only in
how they serve them.

Sidecars are found through the environment stackbench sets:
STACKBENCH_DB_HOST/PORT (MariaDB, see docker/mariadb) and
STACKBENCH_UPSTREAM_HOST/PORT (an HTTP service answering "ok").
"""
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

    def _run(self, sql, args=None):
        conn = self._slots.get()
        try:
            if conn is None:
                conn = self._connect()
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return cur.fetchone()
        except Exception:
            if conn is not None:
                conn.close()
            conn = None
            raise
        finally:
            self._slots.put(conn)

    def lookup(self):
        if self._max_id is None:
            self._max_id = self._run(MAX_ID_QUERY)[0] or 1
        return row_json(self._run(QUERY, (random_name(self._max_id),)))


class AsyncDb:
    """An aiomysql pool, made on first use inside the serving event loop."""

    def __init__(self, size=DB_POOL):
        self._size = size
        self._pool = None
        self._max_id = None

    async def _run(self, sql, args=None):
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
                return await cur.fetchone()

    async def lookup(self):
        if self._max_id is None:
            self._max_id = (await self._run(MAX_ID_QUERY))[0] or 1
        return row_json(await self._run(QUERY, (random_name(self._max_id),)))


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
    return 200, {"ok": True, "user": USERNAME}
