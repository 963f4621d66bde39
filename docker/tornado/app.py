"""Tornado: GET /health answers "ok"; GET /sleep awaits 0.1 s on the IOLoop;
GET /upstream relays the upstream sidecar through AsyncHTTPClient.

usage: python app.py HOST PORT [--fork N]
  Without --fork it serves in this process. With --fork N it binds first,
  then forks N processes that share the socket, the parent restarting any
  that die (N from the CPU limit: 0 would follow the host's CPU count).
`gunicorn -k tornado app:app` serves `app` (an Application) instead.
"""
import asyncio
import sys

import tornado.httpclient
import tornado.httpserver
import tornado.netutil
import tornado.process
import tornado.web

import benchlib


class Health(tornado.web.RequestHandler):
    def get(self):
        self.write("ok")


class Sleep(tornado.web.RequestHandler):
    async def get(self):
        await asyncio.sleep(benchlib.SLEEP_S)
        self.write("ok")


class Upstream(tornado.web.RequestHandler):
    async def get(self):
        response = await tornado.httpclient.AsyncHTTPClient().fetch(benchlib.upstream_url())
        self.write(response.body)


def make_app():
    return tornado.web.Application(
        [(r"/health", Health), (r"/sleep", Sleep), (r"/upstream", Upstream)],
        log_function=lambda handler: None,
    )


app = make_app()


async def serve(sockets):
    server = tornado.httpserver.HTTPServer(make_app())
    server.add_sockets(sockets)
    await asyncio.Event().wait()


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    fork = sys.argv[3:5]
    if fork and (fork[0] != "--fork" or len(fork) != 2 or not fork[1].isdigit() or int(fork[1]) < 1):
        sys.exit("usage: python app.py HOST PORT [--fork N] (N at least 1: pass the CPU limit, not 0)")
    sockets = tornado.netutil.bind_sockets(port, host, backlog=4096)
    if fork:
        tornado.process.fork_processes(int(fork[1]))
    asyncio.run(serve(sockets))


if __name__ == "__main__":
    main()
