"""Parlor, the forum: `init_app(app)` mounts it on any Flask app; `create_app()` is the site."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask, url_prefix: str | None = None) -> None:
    from forum.plugin import init_app as _init_app

    _init_app(app, url_prefix)


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    from forum.app import create_app as _create_app

    return _create_app(overrides)
