"""Erasure at scale (issue 6, §4): the time to erase a member with 1,000 and with 100,000
posts. Erasure is set-based, so the goal is at most 20x for 100x the posts, and under 5 s.

    .venv/bin/python bench/erasure.py [--postgresql URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import dataset
from sqlalchemy import create_engine, func, select, text

from forum.content.models import Post
from forum.db import db
from forum.privacy.erasure import erase, finish_erasure
from forum.users.models import User

SIZES = (1_000, 100_000)
TOTAL_POSTS = 200_000
RUNS = 3


def erase_once(url: str, heavy: int, ledger: str) -> float:
    app = dataset.build(url, TOTAL_POSTS, heavy_posts=heavy, accounts=5_000,
                        ERASURE_LEDGER=ledger)  # fmt: skip
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


def run(label: str, url: str, ledger: str) -> list[str]:
    medians = {}
    for heavy in SIZES:
        times = sorted(erase_once(url, heavy, ledger) for _ in range(RUNS))
        medians[heavy] = times[len(times) // 2]
        print(f"  {label}: {heavy:,} posts erased in {medians[heavy]:.3f} s", file=sys.stderr)
    small, large = medians[SIZES[0]], medians[SIZES[1]]
    return [f"| {label} | {small:.3f} | {large:.3f} | {large / small:.1f}x |"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgresql", help="a PostgreSQL URL whose server may host a "
                        "scratch database (created and dropped here)")  # fmt: skip
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="parlor-bench-erase-"))
    ledger = str(scratch / "ledger.jsonl")
    lines = run("SQLite", f"sqlite:///{scratch}/erase.sqlite3", ledger)
    if args.postgresql:
        admin = create_engine(args.postgresql, isolation_level="AUTOCOMMIT")
        name = "parlor_bench_erase"
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            lines += run("PostgreSQL", f"{args.postgresql.rsplit('/', 1)[0]}/{name}", ledger)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"| database | {SIZES[0]:,} posts (s) | {SIZES[1]:,} posts (s) | ratio |")
    print("|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
