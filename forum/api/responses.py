"""JSON out: exactly `application/json; charset=utf-8`, errors in Discourse's shape."""

from __future__ import annotations

import json
from typing import Any

from flask import Response

JSON_TYPE = "application/json; charset=utf-8"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    resp = Response(body, status=status, content_type=JSON_TYPE, headers=headers)
    return resp


def json_error(
    status: int, messages: list[str], error_type: str, headers: dict[str, str] | None = None
) -> Response:
    return json_response({"errors": messages, "error_type": error_type}, status, headers)
