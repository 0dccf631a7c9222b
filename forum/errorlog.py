"""Structured error logs: one JSON line per unexpected error, for a log collector to parse.

What a line holds is chosen for debugging without personal data: the route, the request's
path with secrets redacted (as in the access log), the member's id, and the traceback. No
body, no headers, no cookies: those carry session ids, CSRF and API keys.
"""

from __future__ import annotations

import json
import logging
import traceback

from flask import Flask, has_request_context, request

from forum.accesslog import make_handler, redact_query, request_user_id
from forum.timeutil import iso, utcnow

LOGGER = "parlor.errors"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": iso(utcnow()),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            query = request.query_string.decode("latin-1")
            entry.update(
                method=request.method,
                path=request.path + (f"?{redact_query(query)}" if query else ""),
                endpoint=request.endpoint,
                user_id=request_user_id(),
            )
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
            entry["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def error_logger() -> logging.Logger:
    return logging.getLogger(LOGGER)


def init_error_log(app: Flask) -> None:
    """Send Parlor's error logger to ERROR_LOG (a path, or "-" for stderr, the default)."""
    logger = error_logger()
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    logger.disabled = False  # a logging.config call elsewhere may have disabled it
    for old in list(logger.handlers):
        logger.removeHandler(old)
        old.close()
    target = app.config.get("ERROR_LOG") or "-"
    handler = make_handler(target, app.config["ACCESS_LOG_RETENTION_DAYS"])
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
