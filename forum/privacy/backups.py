"""Backups that honour erasure (P12).

`backup` takes a consistent online snapshot into BACKUP_DIR (SQLite's backup API, or
`pg_dump` for PostgreSQL); backups older than BACKUP_RETENTION_DAYS are deleted by `purge`.
`restore` puts a backup back (with the app stopped) and then re-applies every erasure and
every removed profile field the ledger recorded since the backup was taken, so a restore
never brings removed data back. The ledger is a file outside the database, so the restore
cannot roll it back.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import make_url

from forum.db import checkpoint, db
from forum.privacy import ledger
from forum.timeutil import utcnow
from forum.users.models import User

STAMP = "%Y%m%dT%H%M%S%fZ"
PREFIX = "parlor-"

FIELD_MARGIN = timedelta(minutes=1)

Progress = Callable[[str], None]


def _stamp_of(path: Path) -> datetime:
    """When the backup was taken, from its name (parlor-<UTC stamp>.<ext>)."""
    stem = path.name.removeprefix(PREFIX).split(".", 1)[0]
    try:
        return datetime.strptime(stem, STAMP).replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(
            f"{path.name}: not a Parlor backup name (parlor-YYYYmmddTHHMMSSffffffZ.*)"
        ) from None


def _url() -> str:
    return db.engine.url.render_as_string(hide_password=False)


def _pg_env_and_dsn() -> tuple[dict[str, str], str]:
    url = make_url(_url()).set(drivername="postgresql")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return env, url.set(password=None).render_as_string(hide_password=False)


class BackupError(RuntimeError):
    """The backup could not be written; nothing was left behind, earlier backups stand."""


def backup(backup_dir: str, progress: Progress = print) -> Path:
    """A consistent snapshot of the live database; returns its path.

    The snapshot is written under a temporary name and renamed into place only once it is
    complete, so a full disk or an unwritable folder never leaves a partial backup that a
    restore could pick up; on failure the partial file is removed and BackupError raised.
    """
    target_dir = Path(backup_dir)
    taken = utcnow()
    name = f"{PREFIX}{taken.strftime(STAMP)}"
    sqlite = db.engine.dialect.name == "sqlite"
    target = target_dir / f"{name}.{'sqlite3' if sqlite else 'dump'}"
    # Not matching `parlor-*`: purge and restore never take it for a backup.
    partial = target_dir / f".{target.name}.partial"
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        # Private from the first byte: created 0600 before anything is written into it.
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        if sqlite:
            _sqlite_snapshot(partial, progress)
        else:
            env, dsn = _pg_env_and_dsn()
            progress(f"  pg_dump to {target}")
            subprocess.run(  # noqa: S603 (fixed argv, no shell)
                ["pg_dump", "--format=custom", "--no-owner", f"--file={partial}", dsn],  # noqa: S607
                env=env,
                check=True,
            )
        os.replace(partial, target)
    except (OSError, sqlite3.Error, subprocess.CalledProcessError) as exc:
        for leftover in (partial, Path(f"{partial}-journal"), Path(f"{partial}-wal")):
            with contextlib.suppress(OSError):  # e.g. the folder itself could not be made
                leftover.unlink(missing_ok=True)
        raise BackupError(f"could not write a backup into {target_dir}: {_reason(exc)}") from exc
    progress(f"Backup written: {target} ({target.stat().st_size:,} bytes)")
    return target


def _sqlite_snapshot(dest_path: Path, progress: Progress) -> None:
    source = sqlite3.connect(db.engine.url.database or "")
    dest = sqlite3.connect(dest_path)
    try:

        def report(status: int, remaining: int, total: int) -> None:
            progress(f"  copied {total - remaining} of {total} pages")

        source.backup(dest, pages=1024, progress=report)
    finally:
        dest.close()
        source.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, subprocess.CalledProcessError):
        return f"pg_dump failed with exit status {exc.returncode} (its message is above)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def purge_backups(backup_dir: str, retention_days: int, now: datetime | None = None) -> int:
    """Delete backups older than the retention; returns how many."""
    now = now or utcnow()
    removed = 0
    directory = Path(backup_dir)
    if not directory.is_dir():
        return 0
    for path in directory.glob(f"{PREFIX}*"):
        try:
            taken = _stamp_of(path)
        except ValueError:
            continue
        if taken < now - timedelta(days=retention_days):
            path.unlink()
            removed += 1
    return removed


def restore(path: str, progress: Progress = print) -> int:
    """Replace the database with the backup at `path`, then re-apply the ledger entries
    recorded since it was taken. Returns how many entries were re-applied."""
    source = Path(path)
    taken = _stamp_of(source)
    _check_backup(source, sqlite=db.engine.dialect.name == "sqlite")
    if db.engine.dialect.name == "sqlite":
        db.session.remove()
        db.engine.dispose()
        live = Path(db.engine.url.database or "")
        for suffix in ("-wal", "-shm"):
            Path(f"{live}{suffix}").unlink(missing_ok=True)
        tmp = live.with_name(live.name + ".restoring")
        shutil.copyfile(source, tmp)
        os.replace(tmp, live)
        progress(f"Restored {source} over {live}")
    else:
        env, dsn = _pg_env_and_dsn()
        db.session.remove()
        db.engine.dispose()
        subprocess.run(  # noqa: S603
            ["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={dsn}",  # noqa: S607
             str(source)],
            env=env,
            check=True,
        )  # fmt: skip
        progress(f"Restored {source} into the database")
    applied = reapply_ledger(since=taken)
    progress(f"Re-applied {applied} erasure ledger entries recorded since {taken.isoformat()}")
    return applied


def _check_backup(source: Path, *, sqlite: bool) -> None:
    """Refuse a file that is not a backup of this kind before the live database is touched
    (copied over it, an empty or foreign file would leave no database at all)."""
    if not sqlite:
        with source.open("rb") as f:
            if f.read(5) != b"PGDMP":
                raise ValueError(f"{source.name}: not a pg_dump backup (custom format)")
        return
    try:
        conn = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            healthy = conn.execute("PRAGMA quick_check").fetchone() == ("ok",)
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        healthy, tables = False, set()
    if not healthy or User.__tablename__ not in tables:
        raise ValueError(f"{source.name}: not a SQLite backup of a Parlor database")


def reapply_ledger(since: datetime) -> int:
    """Re-apply the ledger to a database restored from a backup taken at `since`.

    Every erasure is re-applied, whenever it was recorded: the entry is written before the
    erasure commits, so a backup taken in between holds a member the ledger says is gone,
    and account ids are never reused, so an old entry cannot hit a newer account. Removed
    fields are re-applied from a minute before the backup on, so a value the member set
    again before the backup is not cleared by an older entry.
    """
    from forum.privacy.erasure import erase

    applied = 0
    for entry in ledger.entries():
        at = datetime.fromisoformat(entry["at"].replace("Z", "+00:00"))
        if entry["kind"] != "erased" and at < since - FIELD_MARGIN:
            continue
        user = db.session.get(User, entry["user_id"])
        if user is None:
            continue
        if entry["kind"] == "erased":
            erase(user, record=False)
        elif entry["kind"] == "fields_cleared":
            for field in entry.get("fields", []):
                column = User.__table__.c.get(field)
                if column is not None:
                    setattr(user, field, None if column.nullable else "")
            if {"first_name", "last_name"} & set(entry.get("fields", [])):
                user.names_locked = True
            if "newsletter_consent_at" in entry.get("fields", []):
                user.newsletter = False
        applied += 1
        db.session.commit()
    checkpoint()
    return applied
