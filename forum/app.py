"""`create_app()`: Parlor as a standalone site."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import HTTPException

import config
from forum.api.responses import json_error
from forum.api.suffix import prefers_json
from forum.plugin import init_app


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    # No static folder: with an import name that is no package, Flask would serve the
    # working directory's static/ at /static (Parlor's own files are at /parlor-static).
    app = Flask(
        "parlor",
        static_folder=None,
        instance_path=str(config.INSTANCE_DIR),
        instance_relative_config=True,
    )
    app.config.from_mapping(config.settings())
    if overrides:
        app.config.update(overrides)
    app.config["PARLOR_STANDALONE"] = True  # the access log then covers every request
    init_app(app)

    @app.errorhandler(HTTPException)
    def _outside_blueprints(exc: HTTPException) -> Any:
        # Unmatched URLs belong to no blueprint; on the standalone site they are ours.
        # JSON for what asked for it: a `.json` path, an Accept header, or an API key.
        if request.path.endswith(".json") or prefers_json(request.environ):
            return json_error(
                exc.code or 500,
                [exc.description or exc.name],
                "not_found" if exc.code == 404 else "error",
            )
        return exc

    return app
