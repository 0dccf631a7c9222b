"""Text as members type it, made fit to store: PostgreSQL refuses NUL in a text column
(SQLite keeps it), so it is dropped from every field, as it is invisible anyway."""

from __future__ import annotations


def without_nul(text: str) -> str:
    return text.replace("\x00", "")


def one_line(text: str) -> str:
    """A name or a title: no NUL, runs of whitespace as one space, none at the ends."""
    return " ".join(without_nul(text).split())
