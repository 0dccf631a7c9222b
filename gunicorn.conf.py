"""gunicorn settings for Parlor: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be changed from the environment, so one file serves a laptop, a server
behind a reverse proxy and the benchmarks (`bench/http.py` serves Parlor and its baseline
with this very file). Command-line flags still win over it.

    GUNICORN_BIND          address(es) to listen on, comma-separated (127.0.0.1:8000)
    WEB_CONCURRENCY        worker processes (2 x cores + 1, at most 12)
    GUNICORN_WORKER_CLASS  gthread (default) or sync
    GUNICORN_THREADS       threads per gthread worker (2)
    GUNICORN_WORKER_CONNECTIONS  connections a gthread worker holds at once, busy or kept
                           alive (1000); past it the others accept the new ones
    GUNICORN_TIMEOUT       seconds a silent worker may take before it is restarted (30)
    GUNICORN_KEEPALIVE     seconds an idle keep-alive connection stays open (5)
    GUNICORN_MAX_REQUESTS  recycle a worker after this many requests (0: never)
    GUNICORN_ACCESS_LOG    gunicorn's own access log: a path or "-" (off by default:
                           Parlor writes its own, see ACCESS_LOG in the README)
    GUNICORN_LOG_LEVEL     info
"""

from __future__ import annotations

import os

MAX_DEFAULT_WORKERS = 12


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def default_workers() -> int:
    """2 x cores + 1, gunicorn's advice, capped: past a dozen, a forum on one machine
    only adds database connections and memory."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(2 * (cores or 1) + 1, MAX_DEFAULT_WORKERS)


# Loopback by default: Parlor belongs behind a reverse proxy that terminates TLS.
bind = [b.strip() for b in os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")]
workers = _int("WEB_CONCURRENCY", default_workers())
# gthread keeps keep-alive connections from the proxy in a poller rather than in a worker.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = _int("GUNICORN_THREADS", 2)
worker_connections = _int("GUNICORN_WORKER_CONNECTIONS", 1000)
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = timeout
keepalive = _int("GUNICORN_KEEPALIVE", 5)
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = max_requests // 10
# Each worker opens its own database connections: nothing is shared across a fork.
preload_app = False
# The heartbeat file on tmpfs, so a slow disk never gets a healthy worker killed (it holds
# no data: gunicorn's own advice for containers).
SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = SHM if os.path.isdir(SHM) else None

accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
# The path without its query string and no Referer: query strings carry OAuth codes and
# state and unsubscribe tokens, which must never reach a log (Parlor's own log redacts them).
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
