"""gunicorn settings for the gunicorn-flask matrix and flask-gevent: the worker class by a short name.

GUNICORN_WORKER is sync, gthread, gevent or meinheld (meinheld's class has a long
path); gthread runs GUNICORN_THREADS threads per worker (default 40).
"""
import os

_CLASSES = {"meinheld": "meinheld.gmeinheld.MeinheldWorker"}

worker_class = _CLASSES.get(os.environ["GUNICORN_WORKER"], os.environ["GUNICORN_WORKER"])
if worker_class == "gthread":
    threads = int(os.environ.get("GUNICORN_THREADS", "40"))
worker_connections = 10000
backlog = 2048
loglevel = "warning"
