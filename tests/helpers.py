"""Small helpers the test modules share (import them: `from helpers import at, ok`)."""

from __future__ import annotations

from typing import Any

JSON_TYPE = "application/json; charset=utf-8"


def at(ip: str) -> dict[str, Any]:
    """Request keyword arguments that make the test client connect from `ip`."""
    return {"environ_base": {"REMOTE_ADDR": ip}}


def ok(response: Any) -> Any:
    """The JSON body of a 200 answer, which must be exactly Parlor's JSON type."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.content_type == JSON_TYPE
    return response.get_json()
