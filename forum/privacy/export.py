"""Download my data (P10, P16): one ZIP with every personal datum Parlor holds about the
member, streamed, with memory that stays flat however long their history.

What goes in is derived from the privacy registry: every table that names an owner column
contributes the member's rows, with every column that is not secret. A new personal column
or table appears in the export without a change here. Known tables get friendlier files
(profile.json, posts.csv and .json, ...); any other owned table gets `<table>.csv`.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import JSON, Column, LargeBinary, Table, select

from forum.api.responses import spreadsheet_safe
from forum.content.models import Post, PostEdit, Topic
from forum.db import IPColumn, UTCDateTime, db
from forum.privacy.registry import Privacy, owner_column, privacy_of
from forum.timeutil import iso, utcnow
from forum.users.models import User

BATCH = 500
# CSV text is handed on once this much has gathered: a batch of long posts (up to 32,000
# characters each, and their HTML) would otherwise sit in memory several times over.
CSV_CHUNK = 64 * 1024
# Tables with a file of their own below; every other owned table is exported generically.
NAMED = {"users", "avatars", "posts", "post_edits", "likes", "sign_in_events"}

README = """\
Your data from {site}, exported {when} for {username}.

profile.json       your account: every personal field Parlor keeps about you, your GitHub
                   id, role, timestamps and newsletter consent
posts.csv / .json  every post you wrote: topic, post number, your Markdown (raw) and the
                   HTML shown (cooked), when it was written and edited, and the IP address
                   it came from
edits.csv / .json  every edit you made, with the text before and after and its IP address
likes.csv          the posts you liked, and when
sign_ins.csv       each sign-in: time, IP address and browser (user agent)
avatar.png         your picture, as Parlor stores and serves it (absent if you have none)
third_parties.json the categories of personal data shared with third parties, and with
                   whom
<table>.csv        any other record Parlor keeps about you, one file per kind

Times are UTC (ISO 8601). Secrets (session keys, API key hashes) are never exported.
"""


def exported_columns(table: Table) -> list[Column[Any]]:
    """Every column but secrets, and but those whose values are about someone else
    (`info={"export": False}`, as in what staff wrote about the member they acted on)."""
    return [
        c
        for c in table.columns
        if privacy_of(c) not in (Privacy.SECRET, None) and c.info.get("export", True)
    ]


def _converter(col: Column[Any]) -> Callable[[Any], Any]:
    """How a column's values are written to JSON and CSV, chosen once per column."""
    if isinstance(col.type, UTCDateTime):
        return iso
    if isinstance(col.type, IPColumn):
        return lambda v: None if v is None else str(v)
    if isinstance(col.type, LargeBinary):
        return lambda v: None if v is None else base64.b64encode(bytes(v)).decode()
    return lambda v: v


class Records(NamedTuple):
    """Rows as dicts, streamed, with their field names known before the first row."""

    names: list[str]
    rows: Iterator[dict[str, Any]]
    structured: bool = False  # whether some values are dicts or lists


def _records(query: Any, cols: list[Column[Any]], leading: tuple[str, ...] = ()) -> Records:
    """Rows of `query`: `leading` names its first columns, `cols` the rest."""
    names = [*leading, *(c.name for c in cols)]
    convert = [*(lambda v: v for _ in leading), *(_converter(c) for c in cols)]
    pairs = list(zip(names, convert, strict=True))

    def rows() -> Iterator[dict[str, Any]]:
        for row in db.session.execute(query.execution_options(yield_per=BATCH)):
            yield {name: conv(v) for (name, conv), v in zip(pairs, row, strict=True)}

    return Records(names, rows(), any(isinstance(c.type, JSON) for c in cols))


def owned_rows(table: Table, user_id: int) -> Records:
    """The member's rows of `table`, streamed in batches."""
    owner = owner_column(table)
    assert owner is not None
    cols = exported_columns(table)
    query = select(*cols).where(table.c[owner] == user_id).order_by(*table.primary_key.columns)
    return _records(query, cols)


def owned_tables() -> list[Table]:
    return [t for t in db.metadata.sorted_tables if owner_column(t) is not None]


def _posts(user_id: int) -> Records:
    cols = exported_columns(Post.__table__)  # type: ignore[arg-type]
    query = (
        select(Topic.title, *cols)
        .join(Topic, Topic.id == Post.topic_id)
        .where(Post.user_id == user_id)
        .order_by(Post.id)
    )
    return _records(query, cols, ("topic_title",))


def _edits(user_id: int) -> Records:
    cols = exported_columns(PostEdit.__table__)  # type: ignore[arg-type]
    query = (
        select(Post.topic_id, Post.post_number, *cols)
        .join(Post, Post.id == PostEdit.post_id)
        .where(PostEdit.user_id == user_id)
        .order_by(PostEdit.id)
    )
    return _records(query, cols, ("topic_id", "post_number"))


def csv_lines(records: Records) -> Iterator[bytes]:
    """CSV with a header row, handed on some 64 KiB at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(records.names)
    for row in records.rows:
        values: Iterable[Any] = row.values()
        if records.structured:  # JSON columns go into one cell as JSON text
            values = [json.dumps(v) if isinstance(v, dict | list) else v for v in values]
        # Titles and posts are other people's text too: no formulas in a spreadsheet.
        writer.writerow([spreadsheet_safe(v) if isinstance(v, str) else v for v in values])
        if buffer.tell() >= CSV_CHUNK:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def csv_and_json(records: Records) -> tuple[Iterator[bytes], Iterator[bytes]]:
    """The same rows as CSV and as JSON from one pass over the database. While the CSV
    streams, the JSON is spooled to a temporary file (in memory up to 1 MB, on disk
    beyond); it streams from there once the CSV is done, as the ZIP takes files in turn."""
    # Closed by json_part once read (or by the garbage collector if the download stops).
    spool = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115

    def recorded() -> Iterator[dict[str, Any]]:
        for chunk, row in _json_chunks(records.rows):
            spool.write(chunk)
            if row is not None:
                yield row

    def json_part() -> Iterator[bytes]:
        spool.seek(0)
        try:
            while chunk := spool.read(CSV_CHUNK):
                yield chunk
        finally:
            spool.close()

    return csv_lines(records._replace(rows=recorded())), json_part()


def _json_chunks(
    rows: Iterable[dict[str, Any]],
) -> Iterator[tuple[bytes, dict[str, Any] | None]]:
    """A JSON array a row at a time, each piece with the row it came from."""
    yield b"[", None
    for n, row in enumerate(rows):
        yield (b",\n" if n else b"\n") + json.dumps(row, ensure_ascii=False).encode(), row
    yield b"\n]\n", None


def third_parties(path: str) -> dict[str, Any]:
    """The notice of what is shared with whom (P16), from THIRD_PARTIES_FILE."""
    if path:
        with Path(path).open(encoding="utf-8") as f:
            data = json.load(f)
    else:
        data = {"shared": []}
    data.setdefault("shared", [])
    data["notice"] = (
        "Categories of personal information shared with third parties, and with whom. "
        + ("Nothing is shared." if not data["shared"] else "")
    ).strip()
    return data


def export_files(user: User, site: str, third_parties_file: str) -> Iterator[tuple[str, Any]]:
    """(file name, bytes or an iterator of byte chunks) for every file of the export."""
    profile = next(owned_rows(User.__table__, user.id).rows)  # type: ignore[arg-type]
    yield "README.txt", README.format(site=site, when=iso(utcnow()), username=user.username)
    yield "profile.json", json.dumps(profile, ensure_ascii=False, indent=2) + "\n"
    for name, rows in (("posts", _posts(user.id)), ("edits", _edits(user.id))):
        as_csv, as_json = csv_and_json(rows)
        yield f"{name}.csv", as_csv
        yield f"{name}.json", as_json
    tables = {t.name: t for t in owned_tables()}
    yield "likes.csv", csv_lines(owned_rows(tables["likes"], user.id))
    yield "sign_ins.csv", csv_lines(owned_rows(tables["sign_in_events"], user.id))
    for avatar in owned_rows(tables["avatars"], user.id).rows:
        yield "avatar.png", base64.b64decode(avatar["data"])
        meta = {k: v for k, v in avatar.items() if k != "data"}
        yield "avatar.json", json.dumps(meta, indent=2) + "\n"
    for name, table in tables.items():
        if name not in NAMED:
            yield f"{name}.csv", csv_lines(owned_rows(table, user.id))
    yield "third_parties.json", json.dumps(third_parties(third_parties_file), indent=2) + "\n"


class _Sink(io.RawIOBase):
    """A write-only stream that hands what was written to the response as it comes."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        self._written += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._written

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def stream_zip(files: Iterable[tuple[str, Any]]) -> Iterator[bytes]:
    """A ZIP, produced as it is read: no file is held whole in memory."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:
            with archive.open(name, "w", force_zip64=True) as entry:
                chunks = [content] if isinstance(content, str | bytes) else content
                for chunk in chunks:
                    entry.write(chunk.encode() if isinstance(chunk, str) else chunk)
                    if out := sink.drain():
                        yield out
            if out := sink.drain():
                yield out
    yield sink.drain()  # the central directory
