"""The database: one Flask-SQLAlchemy instance, typed models, and per-connection set-up.

SQLite is the zero-set-up default; PostgreSQL is the same code through DATABASE_URL.
"""

from __future__ import annotations

import contextlib
import ipaddress
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_request_context, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, LargeBinary, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict, manager_of_class, set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlalchemy.types import TypeDecorator

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
F = TypeVar("F", bound=Callable[..., Any])


class Base(DeclarativeBase):
    # Named constraints, so that migrations can alter them on SQLite (batch mode) too.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
M = TypeVar("M", bound=Base)

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITING = "parlor_writing"  # g: a `reads_first` route has begun its writes
# Execution option: the session's connection in a `reads_first` route on SQLite, whose
# checks run outside a transaction.
_CHECKS = "parlor_checks"
# g: this request has written something not yet committed (set on flush, and by
# `begin_writes` for writes on the tables, which flush nothing).
UNSAVED = "parlor_unsaved_flush"


class IPColumn(TypeDecorator[IPAddress]):
    """An IP address as 16 bytes (IPv4 mapped into IPv6).

    One fixed-width, byte-ordered form for both families means a CIDR range is a plain
    indexed `BETWEEN` on SQLite and PostgreSQL alike.
    """

    impl = LargeBinary(16)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> bytes | None:
        if value is None:
            return None
        return ip_to_bytes(value)

    def process_result_value(self, value: Any, dialect: Any) -> IPAddress | None:
        if value is None:
            return None
        return ip_from_bytes(bytes(value))


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every database (SQLite hands back naive values otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        # SQLite keeps the wall-clock time and drops the offset: store UTC's wall clock.
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def ip_to_bytes(value: str | IPAddress) -> bytes:
    ip = ipaddress.ip_address(value) if isinstance(value, str) else value
    if isinstance(ip, ipaddress.IPv4Address):
        ip = ipaddress.IPv6Address(b"\0" * 10 + b"\xff\xff" + ip.packed)
    return ip.packed


def ip_from_bytes(raw: bytes) -> IPAddress:
    ip = ipaddress.IPv6Address(raw)
    return ip.ipv4_mapped or ip


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Autocommit at the driver level so SQLAlchemy's "begin" event below decides how a
    # transaction starts (the pysqlite driver's own BEGIN handling is too late and too weak).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    for pragma in (
        "journal_mode=WAL",
        "busy_timeout=10000",
        "foreign_keys=ON",
        # Erased values are overwritten on disk, not just unlinked (P12).
        "secure_delete=ON",
        "synchronous=NORMAL",
    ):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def _sqlite_on_begin(conn: Any) -> None:
    # A write transaction begins IMMEDIATE so that it waits for the lock (busy timeout)
    # instead of failing with SQLITE_BUSY when it upgrades from read to write. The checks
    # of a `reads_first` route begin nothing on the session's connection (`_CHECKS`, see
    # `init_reads`): each statement is then a read of its own, with its own snapshot (as
    # under PostgreSQL's READ COMMITTED), and `begin_writes()` begins on that connection,
    # without a COMMIT and a second checkout in between.
    writes = _wants_write()
    if not writes and _is_checks(conn):  # marked for this request's checks, not yet writing
        return
    _sqlite_begin(conn.connection.driver_connection, writes)


def _is_checks(conn: Any) -> bool:
    """Whether this is the connection of a `reads_first` route's checks (see `init_reads`)."""
    return bool(conn.get_execution_options().get(_CHECKS))


def _sqlite_no_write_outside(
    conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool
) -> None:
    # On the checks' connection, a write before `begin_writes()` would commit by itself,
    # statement by statement: refused, as the bug it is (an ORM flush begins the writes).
    if (
        _is_checks(conn)
        and context is not None
        and (context.isinsert or context.isupdate or context.isdelete)
        and not conn.connection.driver_connection.in_transaction
    ):
        raise RuntimeError("a write before begin_writes() in a reads_first route")


def _sqlite_begin(driver: sqlite3.Connection, writes: bool) -> None:
    # Sent on the driver's connection: through `exec_driver_sql` this one statement was a
    # tenth of a small request. Its errors are wrapped as SQLAlchemy's would be, so that a
    # locked database is still an OperationalError (a 503, see forum/unavailable.py).
    statement = "BEGIN IMMEDIATE" if writes else "BEGIN"
    try:
        if writes:
            _begin_immediate(driver)
        else:
            driver.execute(statement)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


_LOCK_POLL_SECONDS, _SHORT_WAIT_SECONDS, _LONG_POLL_SECONDS = 0.0005, 0.05, 0.005
_SQLITE_BUSY_SNAPSHOT = sqlite3.SQLITE_BUSY | (2 << 8)  # 517; the module names it from 3.12


def _begin_immediate(driver: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, trying again every half millisecond or so until the connection's
    busy timeout. SQLite's own busy handler sleeps 1, 2, 5, 10, ... 100 ms between tries,
    while a write here holds the lock for about a millisecond: under a load of replies the
    waiting writers slept through free locks and a fifth of the CPU stood idle."""
    timeout_ms = driver.execute("PRAGMA busy_timeout").fetchone()[0]
    started = time.monotonic()
    deadline = started + timeout_ms / 1000
    driver.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                driver.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                # The primary code: SQLITE_BUSY_RECOVERY and the like are busy too, except
                # SQLITE_BUSY_SNAPSHOT (a read still open on this connection), which waiting
                # cannot end.
                code = getattr(exc, "sqlite_errorcode", 0)
                busy = code & 0xFF == sqlite3.SQLITE_BUSY and code != _SQLITE_BUSY_SNAPSHOT
                now = time.monotonic()
                if not busy or now >= deadline:
                    raise
            # Short steps while the wait is short (a write holds the lock about a
            # millisecond); longer ones behind a long holder (a checkpoint, an erasure), so
            # that many waiters do not spin. Jittered, so that they do not collide again.
            step = _LOCK_POLL_SECONDS if now - started < _SHORT_WAIT_SECONDS else _LONG_POLL_SECONDS
            time.sleep(step * random.uniform(0.5, 1.5))  # noqa: S311
    finally:
        driver.execute(f"PRAGMA busy_timeout = {int(timeout_ms)}")


def _wants_write() -> bool:
    if not has_request_context():
        return True  # commands, tests and background jobs
    if g.get("parlor_write", False) or g.get(_WRITING, False):
        return True
    return request.method not in _SAFE_METHODS and not _reads_first()


def reads_first(view: F) -> F:
    """Mark a write route whose checks only read (who writes, from where, to what): on
    SQLite it begins like a read, and `begin_writes()` takes the write lock for the writes
    alone. The lock is the database's, so every writer waits while one holds it: held from
    the request's first statement, a reply kept other replies waiting through its checks
    and its Markdown, and half of a two-core machine sat idle under load."""
    view.parlor_reads_first = True  # type: ignore[attr-defined]
    return view


def _reads_first() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "parlor_reads_first", False)


def _in_read_phase() -> bool:
    """A `reads_first` route in this request, before its writes (or after they ended)."""
    return has_request_context() and not g.get(_WRITING, False) and _reads_first()


def begin_writes() -> None:
    """Call before a route's first write. In a `reads_first` route on SQLite the checks
    ran outside a transaction (see `_sqlite_on_begin`) and the write transaction begins
    here, IMMEDIATE: the writes must then check again, in their own statements, whatever
    a concurrent writer could have changed meanwhile (see `posting._BUMP_TOPIC`). On
    PostgreSQL the one transaction goes on: its writes lock only the rows they touch."""
    if not has_request_context():
        return
    if _in_read_phase():
        session = db.session()
        if db.engine.dialect.name == "sqlite" and session.in_transaction():
            driver = session.connection().connection.driver_connection
            if driver.in_transaction:
                # A read transaction (the connection was not the checks' own): end it, or
                # the writes would upgrade it, and fail instead of waiting if another
                # writer came first. The next statement begins IMMEDIATE.
                commit_as_written()
            else:  # the checks' connection: its write transaction begins now
                _sqlite_begin(driver, writes=True)
        setattr(g, _WRITING, True)
    # Writes on the tables flush nothing: what commits from here on is a saved change
    # (forum/unavailable.py answers accordingly if the database fails afterwards).
    g.setdefault(UNSAVED, True)


def _flushing(session: Session, _context: Any, _instances: Any) -> None:
    # An ORM change made during the checks (none is, today) still writes in a transaction:
    # on the checks' connection, the writes begin first; on another (in a read transaction,
    # which the flush makes a write one), that transaction is the writes' own, and
    # `begin_writes()` must not commit it.
    if _in_read_phase() and session.in_transaction():
        if _is_checks(session.connection()):
            begin_writes()
        else:
            setattr(g, _WRITING, True)


def _writes_ended(_session: Session) -> None:
    # What follows the commit (or rollback) of a `reads_first` route's writes reads again,
    # without the write lock: the redirect after a reply, the page that shows a refusal.
    if has_request_context():
        g.pop(_WRITING, None)


event.listen(Session, "before_flush", _flushing)
event.listen(Session, "after_commit", _writes_ended)
event.listen(Session, "after_rollback", _writes_ended)


def loaded(model: type[M], row: Mapping[str, Any]) -> M:
    """The session's object for a row a statement returned (INSERT or UPDATE ... RETURNING;
    its columns by name, which are the models' attribute names), holding its values as if
    a query had loaded them: no SELECT, nothing to flush. No model has a `load` event or a
    `@reconstructor`, which this would skip."""
    session = db.session()
    found = _held(model, row["id"])
    if found is not None:
        for key, value in row.items():
            set_committed_value(found, key, value)
        return found  # type: ignore[return-value]
    # As the ORM builds a loaded object: no __init__, whose per-attribute events (history,
    # defaults) were half the cost of a reply's two objects, for values that are final.
    made = manager_of_class(model).new_instance()
    instance_dict(made).update(row)
    make_transient_to_detached(made)  # the identity; every value committed, none pending
    session.add(made)
    return made  # type: ignore[no-any-return]


def expire(model: type[M], key: int) -> None:
    """Mark the session's object for this row, if it holds one, as changed by a statement
    on the table: its next read loads it again."""
    found = _held(model, key)
    if found is not None:
        db.session.expire(found)


def _held(model: type[M], key: int) -> M | None:
    """The session's object for this row, if it holds one (no SELECT)."""
    return db.session().identity_map.get(identity_key(model, (key,)))  # type: ignore[no-any-return]


def commit_bookkeeping() -> None:
    """Commit a write that is not the member's change (a refusal's count): should the
    request fail afterwards, its answer must not say that their change was saved."""
    if not has_request_context():
        db.session.commit()
        return
    keep = g.get("parlor_write", False)
    g.parlor_write = True  # see forum/unavailable.py: a GET route's bookkeeping, likewise
    try:
        db.session.commit()
    finally:
        g.parlor_write = keep


def commit_as_written() -> None:
    """Commit, and keep the session's objects as written rather than expired: the answer
    that follows (a new post's JSON, a redirect to it) reads no row again. Built after the
    commit, it keeps the writes short: a reply's lock (SQLite's database-wide one, or
    PostgreSQL's on the topic's row, which every reply to it takes) was held through it.
    An object that a statement on the tables changed is stale unless expired (`expire`)."""
    session = db.session()
    keep, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep


@contextmanager
def write_transaction() -> Iterator[None]:
    """For a GET route that writes (the OAuth callback): end any read transaction first,
    so the write starts IMMEDIATE, and commit at the end."""
    db.session.commit()
    g.parlor_write = True
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        g.parlor_write = False


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        event.listen(engine, "before_cursor_execute", _sqlite_no_write_outside)


def init_db(app: Flask) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    # A failed statement's values (e-mail addresses, IPs) stay out of error messages and logs.
    options.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        options.setdefault("connect_args", {}).setdefault("timeout", 10)
        if url.startswith("sqlite:///") and ":memory:" not in url:
            from pathlib import Path

            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)


def init_reads(app: Flask, blueprints: frozenset[str] | None) -> None:
    """On PostgreSQL, a request that only reads (GET, HEAD, OPTIONS to these blueprints; None:
    every request) runs its statements outside a transaction. Under READ COMMITTED each
    statement has its own snapshot either way, so a page reads the same; what goes is the
    BEGIN and the ROLLBACK, two of a signed-in topic's six round trips. The few GET routes
    that write do it in `write_transaction`, whose first commit hands the connection back,
    so their writes take a new one, in a transaction as usual.

    On SQLite, the checks of a `reads_first` route (from the member's row on) run on a
    connection marked `_CHECKS`, which begins no transaction until `begin_writes()`. Marked
    here, before the blueprints' own hooks (the CSRF check loads the member) and the rate
    limits: a connection a host application's earlier hook took is not marked, and its read
    transaction ends at `begin_writes()` instead."""
    with app.app_context():
        dialect = db.engine.dialect.name
    if dialect == "sqlite":

        @app.before_request
        def _checks_outside_a_transaction() -> None:
            if request.method in _SAFE_METHODS or not _reads_first():
                return
            session = db.session()
            if not session.in_transaction():
                session.connection(execution_options={_CHECKS: True})

        @app.teardown_request
        def _checks_end(_exc: BaseException | None) -> None:
            # Handed back with the request, not with the app context, which tests and a
            # host application may keep across requests: the next request's writes would
            # otherwise meet the mark.
            session = db.session()
            if (
                request.method not in _SAFE_METHODS
                and _reads_first()
                and session.in_transaction()
                and _is_checks(session.connection())
            ):
                with contextlib.suppress(Exception):  # a teardown must not fail the answer
                    session.rollback()

        return
    if dialect != "postgresql":
        return

    @app.before_request
    def _autocommit_reads() -> None:
        if request.method not in _SAFE_METHODS:
            return
        if blueprints is not None and request.blueprint not in blueprints:
            return
        if (request.endpoint or "").endswith("static"):
            return  # files: no database, and no 503 for a stylesheet while it is down
        session = db.session()
        if not session.in_transaction():  # one the app context began already stays as is
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def checkpoint() -> None:
    """Fold the SQLite WAL back into the database file and truncate it, so erased values
    (already overwritten in pages by `secure_delete`) do not linger in the log."""
    if db.engine.dialect.name == "sqlite":
        # On the driver connection (autocommit): through SQLAlchemy the pragma would run
        # inside the BEGIN our "begin" hook issues, and SQLite refuses a checkpoint there.
        with db.engine.connect() as conn:
            conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
