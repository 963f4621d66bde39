"""A one-file Django project: GET /health, GET /sleep (time.sleep 0.1 s,
cooperative under gunicorn's gevent worker), GET /db through Django's MySQL
backend (PyMySQL standing in for mysqlclient) and the default connection
handling (one connection per request); DB_SSL=disabled turns off PyMySQL's
preferred TLS (and its SSL context per connection)."""
import os
import time

import pymysql

pymysql.install_as_MySQLdb()

from django.conf import settings  # noqa: E402

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    SECRET_KEY="stackbench-not-secret",
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "NAME": "bench",
            "USER": "bench",
            "PASSWORD": "bench",
            "HOST": os.environ.get("STACKBENCH_DB_HOST", "127.0.0.1"),
            "PORT": os.environ.get("STACKBENCH_DB_PORT", "3306"),
            # DB_SSL=disabled: no TLS to the database. Otherwise PyMySQL prefers TLS and builds an SSL
            # context for every connection, loading the system's CA certificates each time, and Django
            # opens a connection per request (a profile showed it: 80% of the worker's samples).
            "OPTIONS": {"ssl_disabled": True} if os.environ.get("DB_SSL") == "disabled" else {},
        }
    },
)

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402

import benchlib  # noqa: E402

max_id = None


def health(request):
    return HttpResponse("ok")


def sleep(request):
    time.sleep(benchlib.SLEEP_S)
    return HttpResponse("ok")


def db_lookup(request):
    global max_id
    with connection.cursor() as cur:
        if max_id is None:
            cur.execute(benchlib.MAX_ID_QUERY)
            max_id = cur.fetchone()[0] or 1
        cur.execute(benchlib.QUERY, [benchlib.random_name(max_id)])
        return JsonResponse(benchlib.row_json(cur.fetchone()))


urlpatterns = [path("health", health), path("sleep", sleep), path("db", db_lookup)]
application = get_wsgi_application()
