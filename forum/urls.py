"""URLs that do not change from one request to the next, built once per mount point.

What `url_for` gives for a fixed endpoint and fixed values depends only on the app and the
path it is mounted at (the request's script root), yet building it is a route match in
reverse: pages and serializers that need the same few URLs on every request keep them here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app, request

T = TypeVar("T")


def built_once(name: str, build: Callable[[], T]) -> T:
    """`build()`'s result for this app and mount point, built on first use."""
    cache = current_app.extensions.setdefault("parlor_built_once", {})
    key = (name, request.script_root)
    if key not in cache:
        cache[key] = build()
    return cache[key]  # type: ignore[no-any-return]
