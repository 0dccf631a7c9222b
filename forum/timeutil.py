"""Time: always timezone-aware UTC, rendered as Discourse does (ISO 8601, milliseconds, Z)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not UTC:  # what the database hands back is UTC already: fast path
        if value.tzinfo is None:  # naive values are UTC throughout Parlor
            value = value.replace(tzinfo=UTC)
        elif value.utcoffset():
            value = value.astimezone(UTC)
        else:
            value = value.replace(tzinfo=UTC)
    # A UTC time's ISO form ends in "+00:00"; Discourse writes "Z".
    return value.isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_iso(value: str) -> datetime:
    """An ISO 8601 date or time as aware UTC; naive means UTC. ValueError when it is not
    one, or when it falls outside what a datetime holds once moved to UTC."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value!r} is out of range") from None
