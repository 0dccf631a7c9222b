"""The privacy registry: every column says what it holds.

- public:   shown to anyone (a post's text, a username); part of the member's export.
- personal: about a person and never shown to others (e-mail, IPs, GitHub id, names are
            personal too, though shown as a display name); exported, and erased.
- secret:   hashes and tokens; never exported, never shown, erased.
- internal: bookkeeping (keys, counters, flags); neither personal nor exported as data.

Export, erasure and retention are derived from these declarations, and a test fails for
any column without one, so a new personal field cannot silently escape them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Table
from sqlalchemy.orm import mapped_column


class Privacy(StrEnum):
    PUBLIC = "public"
    PERSONAL = "personal"
    SECRET = "secret"  # noqa: S105 (a class name, not a password)
    INTERNAL = "internal"


def column(privacy: Privacy, *args: Any, **kwargs: Any) -> Any:
    """`mapped_column` that records the column's privacy class in its `info`."""
    info = dict(kwargs.pop("info", {}) or {})
    info["privacy"] = Privacy(privacy)
    return mapped_column(*args, info=info, **kwargs)


def privacy_of(col: Column[Any]) -> Privacy | None:
    value = col.info.get("privacy")
    return Privacy(value) if value is not None else None


def columns_of(table: Table, *classes: Privacy) -> list[Column[Any]]:
    return [c for c in table.columns if privacy_of(c) in classes]


def undeclared(tables: list[Table]) -> list[str]:
    """Columns that lack a privacy class, as `table.column`."""
    return [f"{t.name}.{c.name}" for t in tables for c in t.columns if privacy_of(c) is None]


def owner_column(table: Table) -> str | None:
    """The column naming the member a row belongs to (`info={"owner": ...}` on the table);
    the export and erasure find a member's rows through it."""
    return table.info.get("owner")


def on_erase(table: Table) -> str:
    """What erasure does with a member's rows of `table` (`info={"on_erase": ...}`):

    - "delete" (the default): the rows go;
    - "reassign": the content stays, attributed to Anonymous, its personal columns nulled;
    - "detach": the row stays without its owner and without its personal columns.
    """
    return table.info.get("on_erase", "delete")
