"""Erasure at scale (issue 6, §4): the time to erase a member with 1,000 and with 100,000
posts. Erasure is set-based, so the goal is at most 20x for 100x the posts, and under 5 s.

The forum is built once per size and copied for each run (a file copy on SQLite, a
template database on PostgreSQL), so every run erases from the same starting point.

    .venv/bin/python bench/erasure.py [--quick] [--postgresql URL]
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import common
import dataset
from sqlalchemy import create_engine, func, select, text

from forum.content.models import Post
from forum.db import db
from forum.privacy.erasure import erase, finish_erasure
from forum.users.models import User

SIZES, TOTAL_POSTS, RUNS = (1_000, 100_000), 200_000, 3
QUICK_SIZES, QUICK_TOTAL, QUICK_RUNS = (1_000, 10_000), 20_000, 1


def erase_once(url: str, heavy: int, ledger: Path) -> float:
    app = dataset.bench_app(url, ERASURE_LEDGER=str(ledger))
    with app.app_context():
        member = db.session.get(User, 1)
        started = time.perf_counter()
        erase(member)
        db.session.commit()
        finish_erasure()
        elapsed = time.perf_counter() - started
        left = db.session.scalar(select(func.count()).select_from(Post).where(Post.ip.is_(None)))
        assert left >= heavy, "the erased member's posts should have lost their IPs"
        db.engine.dispose()
    return elapsed


@contextmanager
def sqlite_copies(scratch: Path) -> Iterator[tuple[str, Callable[[], str]]]:
    """The template's URL, and a function that copies it and returns the copy's URL."""
    template = scratch / "template.sqlite3"
    work = scratch / "work.sqlite3"

    def copy() -> str:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(template, work)  # the build checkpointed: no WAL to copy
        return f"sqlite:///{work}"

    yield f"sqlite:///{template}", copy


@contextmanager
def postgresql_copies(admin_url: str) -> Iterator[tuple[str, Callable[[], str]]]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    base = admin_url.rsplit("/", 1)[0]
    template, work = "parlor_bench_erase_template", "parlor_bench_erase"

    def drop(*names: str) -> None:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def copy() -> str:
        drop(work)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{work}" TEMPLATE "{template}"'))
        return f"{base}/{work}"

    drop(work, template)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{template}"'))
    try:
        yield f"{base}/{template}", copy
    finally:
        drop(work, template)
        admin.dispose()


def run(
    label: str,
    copies: Any,
    scratch: Path,
    sizes: tuple[int, int],
    total: int,
    runs: int,
    figures: list[dict[str, Any]],
) -> list[str]:
    medians = {}
    with copies as (template_url, copy):
        for heavy in sizes:
            app = dataset.build(template_url, total, heavy_posts=heavy, accounts=5_000)
            with app.app_context():
                db.engine.dispose()
            times = []
            for i in range(runs):
                times.append(erase_once(copy(), heavy, scratch / f"ledger-{label}-{heavy}-{i}"))
            medians[heavy] = statistics.median(times)
            print(f"  {label}: {heavy:,} posts erased in {medians[heavy]:.3f} s", file=sys.stderr)
    small, large = medians[sizes[0]], medians[sizes[1]]
    figures.append({"database": label, "small_s": small, "large_s": large, "ratio": large / small})
    return [f"| {label} | {small:.3f} | {large:.3f} | {large / small:.1f}x |"]


def main() -> None:
    args = common.parser(__doc__).parse_args()
    sizes, total, runs = (
        (QUICK_SIZES, QUICK_TOTAL, QUICK_RUNS) if args.quick else (SIZES, TOTAL_POSTS, RUNS)
    )
    scratch = Path(tempfile.mkdtemp(prefix="parlor-bench-erase-"))
    figures: list[dict[str, Any]] = []
    try:
        lines = run("SQLite", sqlite_copies(scratch), scratch, sizes, total, runs, figures)
        if args.postgresql:
            copies = postgresql_copies(args.postgresql)
            lines += run("PostgreSQL", copies, scratch, sizes, total, runs, figures)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"Forum of {total:,} posts; median of {runs} erasures at each size.\n")
    print(f"| database | {sizes[0]:,} posts (s) | {sizes[1]:,} posts (s) | ratio |")
    print("|---|---|---|---|")
    print("\n".join(lines))
    common.write_json(
        args.json, {"sizes": sizes, "total_posts": total, "runs": runs, "erasures": figures}
    )


if __name__ == "__main__":
    main()
