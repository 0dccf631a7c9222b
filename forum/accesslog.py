"""The access log (P7): one JSON line per request, with the client IP, rotated daily and
kept ACCESS_LOG_RETENTION_DAYS days. Secrets in query strings never reach it."""

from __future__ import annotations

import logging
import sys
import time
from logging.handlers import TimedRotatingFileHandler
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from flask import Flask, Response, g, request, session
from sqlalchemy import inspect

from forum.api.responses import dumps
from forum.net import client_ip
from forum.timeutil import iso, utcnow

LOGGER = "parlor.access"
# Query parameters that carry credentials: OAuth codes and state, unsubscribe and API tokens.
REDACTED = frozenset(
    {"code", "state", "token", "access_token", "authenticity_token", "api_key", "key"}
)


def redact_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, "[redacted]" if k.lower() in REDACTED else v) for k, v in pairs])


def make_handler(target: str, retention_days: int) -> logging.Handler:
    if target == "-":
        return logging.StreamHandler(sys.stderr)
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Rotated at midnight UTC; files beyond the retention are deleted at each rotation.
    return TimedRotatingFileHandler(
        path, when="midnight", backupCount=max(retention_days, 1), utc=True, encoding="utf-8"
    )


def init_access_log(app: Flask, blueprints: frozenset[str] | None) -> None:
    """Log Parlor's requests; `blueprints` limits it to the forum's own when it is a plugin."""
    target = app.config.get("ACCESS_LOG")
    if not target:
        return
    logger = logging.getLogger(f"{LOGGER}.{app.name}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for old in list(logger.handlers):
        logger.removeHandler(old)
        old.close()
    handler = make_handler(target, app.config["ACCESS_LOG_RETENTION_DAYS"])
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)

    @app.before_request
    def _start_clock() -> None:
        g.parlor_started = time.perf_counter()

    @app.after_request
    def _log(response: Response) -> Response:
        if blueprints is not None and request.blueprint not in blueprints:
            return response
        started = g.get("parlor_started", time.perf_counter())
        query = request.query_string.decode("latin-1")
        ip = client_ip(request.environ, app.extensions["parlor"].trusted_proxies)
        entry = {
            "time": iso(utcnow()),
            "ip": str(ip) if ip else None,
            "method": request.method,
            "path": request.path + (f"?{redact_query(query)}" if query else ""),
            "status": response.status_code,
            "user_id": request_user_id(),
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        }
        if logger.isEnabledFor(logging.INFO):
            # `handle(makeRecord(...))` is what `info()` does, minus `findCaller`'s walk up
            # the stack for a source line the "%(message)s" format never prints. The
            # handler still flushes each line: workers share the file, and a line must be
            # one write so that theirs never interleave.
            line = dumps(entry).decode()
            logger.handle(logger.makeRecord(logger.name, logging.INFO, "", 0, line, None, None))
        return response


def request_user_id() -> int | None:
    # The member the request ran as, without loading them just for the log.
    user = g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False):
        # From the identity map, not `user.id`: after a commit or rollback that would load
        # the row again, in a transaction of its own (or fail, with the database gone).
        state = inspect(user, raiseerr=False)
        return state.identity[0] if state is not None and state.identity else user.id
    claimed = str(session.get("_user_id", "")).partition(":")[0]
    return int(claimed) if claimed.isdigit() else None
