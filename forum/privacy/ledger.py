"""The erasure ledger: every erasure and every removed profile field, as ids, field names
and times only, appended to a file outside the database.

A restore replaces the database; the ledger, read from outside it, is what lets the restore
re-apply every removal made since the backup, so removed data never comes back (P12).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import current_app

from forum.timeutil import iso, utcnow


def ledger_path() -> Path:
    return Path(current_app.config["ERASURE_LEDGER"])


def append(kind: str, user_id: int, **fields: Any) -> None:
    """Record one removal; written and fsynced before the caller commits its change."""
    entry = {"at": iso(utcnow()), "kind": kind, "user_id": user_id, **fields}
    path = ledger_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def entries(path: Path | None = None) -> Iterator[dict[str, Any]]:
    path = path or ledger_path()
    if not path.exists():
        return
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)
