"""GitHub sign-in: OAuth client, profile minimisation, sessions, and the local emulator."""

from __future__ import annotations

from flask import Flask

from auth.routes import bp
from auth.sessions import init_sessions


def init_auth(app: Flask, url_prefix: str | None = None) -> None:
    init_sessions(app)
    app.register_blueprint(bp, url_prefix=url_prefix)
