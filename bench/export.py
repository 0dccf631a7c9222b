"""The data export at scale (issue 5, §6): a member with 100,000 posts.

Throughput: the export's ZIP against a plain query of the same posts written to CSV, in
the same run (goal: at least 0.3 of it). Memory: the peak Python allocation while
streaming the export of the 100,000-post member against a 1,000-post member (goal: at
most 50 MB more).

    .venv/bin/python bench/export.py
"""

from __future__ import annotations

import csv
import io
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import dataset
from sqlalchemy import select, update

from forum.content.models import Post
from forum.db import db
from forum.privacy.export import export_files, stream_zip
from forum.users.models import User

RUNS = 3


def export_bytes(user_id: int) -> int:
    user = db.session.get(User, user_id)
    return sum(len(chunk) for chunk in stream_zip(export_files(user, "bench", "")))


def baseline_bytes(user_id: int) -> int:
    """The same posts, one plain query, straight to CSV: the floor for the export."""
    out = io.StringIO()
    writer = csv.writer(out)
    total = 0
    query = select(Post.__table__).where(Post.user_id == user_id).order_by(Post.id)
    for row in db.session.execute(query.execution_options(yield_per=500)):
        writer.writerow(row)
        if out.tell() > 1 << 20:
            total += len(out.getvalue())
            out.seek(0)
            out.truncate()
    return total + len(out.getvalue())


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(RUNS):
        started = time.perf_counter()
        size = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), size


def peak_mb(fn: Callable[[], int]) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="parlor-bench-export-"))
    app = dataset.build(f"sqlite:///{scratch}/export.sqlite3", 120_000, heavy_posts=100_000,
                        accounts=1_000)  # fmt: skip
    with app.app_context():
        # The light member: 1,000 of the other posts become account 2's.
        light = 2
        others = select(Post.id).where(Post.user_id != 1).limit(1_000).scalar_subquery()
        db.session.execute(update(Post).where(Post.id.in_(others)).values(user_id=light))
        db.session.commit()
        export_s, export_size = timed(lambda: export_bytes(1))
        base_s, base_size = timed(lambda: baseline_bytes(1))
        heavy_peak = peak_mb(lambda: export_bytes(1))
        light_peak = peak_mb(lambda: export_bytes(light))
        light_posts = db.session.scalar(
            select(db.func.count()).select_from(Post).where(Post.user_id == light)
        )
    print("| what | figure |")
    print("|---|---|")
    print(f"| export of 100,000 posts | {export_s:.2f} s, {export_size / 1e6:.1f} MB ZIP |")
    print(f"| baseline: same posts, query to CSV | {base_s:.2f} s, {base_size / 1e6:.1f} MB |")
    print(f"| throughput vs baseline (rows/s ratio) | {base_s / export_s:.2f}x |")
    print(f"| peak Python memory, 100,000 posts | {heavy_peak:.1f} MB |")
    print(f"| peak Python memory, {light_posts:,} posts | {light_peak:.1f} MB |")
    print(f"| difference | {heavy_peak - light_peak:+.1f} MB |")


if __name__ == "__main__":
    main()
