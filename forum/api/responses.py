"""JSON out: exactly `application/json; charset=utf-8`, errors in Discourse's shape."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

import orjson
from flask import Response

JSON_TYPE = "application/json; charset=utf-8"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(data), status=status, content_type=JSON_TYPE, headers=headers)


def dumps(data: Any) -> bytes:
    """Compact UTF-8 JSON. orjson: encoding a topic with the standard library took a tenth
    of the request. What orjson refuses (a lone surrogate, an integer over 64 bits) goes
    through the standard library, escaped to ASCII, rather than failing."""
    try:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(data, separators=(",", ":")).encode()


def json_error(
    status: int,
    messages: list[str],
    error_type: str,
    headers: dict[str, str] | None = None,
    extras: dict[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {"errors": messages, "error_type": error_type}
    if extras:
        body["extras"] = extras
    return json_response(body, status, headers)


def rate_limited(message: str, wait_seconds: int) -> Response:
    """Discourse's 429: clients read `extras.wait_seconds` (and Retry-After) to back off."""
    return json_error(
        429,
        [message],
        "rate_limit",
        headers={"Retry-After": str(wait_seconds)},
        extras={"wait_seconds": wait_seconds},
    )


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[Any]]) -> Response:
    """A CSV download. Cells that a spreadsheet would run as a formula are defused."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([spreadsheet_safe(value) for value in row])
    resp = Response(out.getvalue(), content_type="text/csv; charset=utf-8")
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp


def spreadsheet_safe(value: Any) -> Any:
    """A cell a spreadsheet will show, not run: text starting like a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
