"""Serve Parlor for the browser tests: `python tests/serve_live.py PORT`, settings from the
environment (DATABASE_URL and the rest, as in production).

It migrates the database (`flask db upgrade`), seeds the demo (`flask forum seed-demo`) and
then serves, all in one process: importing the app is the slow part of starting up, and on
a busy CI machine doing it three times cost more than the browser tests themselves.
"""

from __future__ import annotations

import sys

from flask_migrate import upgrade
from werkzeug.serving import make_server

from wsgi import app


def main(port: int) -> None:
    with app.app_context():
        upgrade()
    seeded = app.test_cli_runner().invoke(args=["forum", "seed-demo"])
    if seeded.exit_code != 0:
        raise SystemExit(f"forum seed-demo failed:\n{seeded.output}")
    # Threaded, like gunicorn's gthread workers: a page and its images load at once.
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]))
