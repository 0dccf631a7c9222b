"""Discourse's routes without `.json`: clients POST to `/posts` and PUT to `/posts/{id}`.

A request that prefers JSON (its Accept header, or an API key) to a path without an
extension is routed to the `.json` route of the same path, if the forum has one. Done on
the WSGI environ, before routing, so each route is declared once; paths that are not the
forum's, or that the forum serves as a page, are left as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from werkzeug.datastructures import MIMEAccept
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_accept_header
from werkzeug.routing import RequestRedirect

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_EXTENSIONS = (".json", ".csv", ".zip", ".png", ".svg", ".css", ".js")


def prefers_json(environ: dict[str, Any]) -> bool:
    if environ.get("HTTP_API_KEY"):
        return True
    accept = parse_accept_header(environ.get("HTTP_ACCEPT"), MIMEAccept)
    # On a tie (`*/*`, or no header) the page wins, as on Discourse.
    return accept.best_match(["text/html", "application/json"]) == "application/json"


class JsonSuffix:
    def __init__(self, app: Flask, wsgi_app: WSGIApp) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO") or "/"
        if not path.endswith(_EXTENSIONS) and path != "/" and prefers_json(environ):
            adapter = self.app.url_map.bind_to_environ(environ)
            try:
                endpoint, _ = adapter.match(path.rstrip("/") + ".json", environ["REQUEST_METHOD"])
            except (HTTPException, RequestRedirect):
                endpoint = None
            if endpoint is not None and endpoint.startswith("api."):
                environ["PATH_INFO"] = path.rstrip("/") + ".json"
        return self.wsgi_app(environ, start_response)
