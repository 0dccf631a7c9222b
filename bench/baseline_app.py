"""The baseline Parlor is measured against: Flask + Flask-SQLAlchemy and nothing else.

GET /rows/<n>.json returns n rows (20 or 30) as JSON, POST /rows.json inserts one. It runs
under the same gunicorn settings and on the same database as Parlor, so the ratio of the
two is the cost of Parlor itself. Its table lives beside Parlor's (`bench_rows`).

    BASELINE_DATABASE_URL=sqlite:////tmp/x.sqlite3 gunicorn -c gunicorn.conf.py \
        --pythonpath bench baseline_app:app
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from flask import Flask, abort, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Integer, String, event, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

GROUP = 1  # the rows the GETs read, as a topic's posts are read by topic id


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Row(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "bench_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(Integer, index=True)
    user_id: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "group_id": self.group_id,
            "user_id": self.user_id,
            "body": self.body,
            "created_at": self.created_at.isoformat(),
        }


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # What anyone serving SQLite from several processes would set (as Parlor does), so the
    # insert is not measured against an fsync per commit.
    cur = dbapi_conn.cursor()
    for pragma in ("journal_mode=WAL", "busy_timeout=10000", "synchronous=NORMAL"):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def create_app(url: str) -> Flask:
    app = Flask("baseline")
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    db.init_app(app)
    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)

    @app.get("/rows/<int:n>.json")
    def rows(n: int) -> Any:
        if n not in (20, 30):
            abort(404)
        found = db.session.scalars(
            select(Row).where(Row.group_id == GROUP).order_by(Row.id).limit(n)
        )
        return jsonify([r.as_json() for r in found])

    @app.post("/rows.json")
    def add_row() -> Any:
        data = request.get_json(silent=True) or {}
        body = data.get("body")
        if not isinstance(body, str) or not body:
            abort(400)
        row = Row(group_id=GROUP + 1, user_id=1, body=body[:500], created_at=datetime.now(UTC))
        db.session.add(row)
        db.session.commit()
        return jsonify(row.as_json())

    return app


def prepare(url: str, rows: int = 1_000) -> None:
    """Create the baseline's table in the benchmark database and fill it (before serving)."""
    app = create_app(url)
    with app.app_context():
        Row.__table__.drop(db.engine, checkfirst=True)
        Row.__table__.create(db.engine)
        now = datetime.now(UTC)
        db.session.execute(
            insert(Row),
            [
                {
                    "group_id": GROUP if i < 100 else GROUP + 2,
                    "user_id": i % 50 + 1,
                    "body": f"Row {i} of the baseline, with a few words of text in it.",
                    "created_at": now,
                }
                for i in range(rows)
            ],
        )
        db.session.commit()
        db.engine.dispose()


def _from_env() -> Flask | None:
    url = os.environ.get("BASELINE_DATABASE_URL")
    return create_app(url) if url else None


app = _from_env()
