"""The data export at scale (issue 5, §6): a member with 100,000 posts.

Throughput: the export's ZIP against a plain query of the same posts written to CSV, in
the same run (goal: at least 0.3 of it). Memory: the peak Python allocation while
streaming the export of the 100,000-post member against a 1,000-post member (goal: at
most 50 MB more).

    .venv/bin/python bench/export.py [--quick]     # quick: a member with 10,000 posts
"""

from __future__ import annotations

import csv
import io
import shutil
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import common
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


def timed(fn: Callable[[], int], runs: int) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(runs):
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
    args = common.parser(__doc__, postgresql=False).parse_args()
    heavy, runs = (10_000, 1) if args.quick else (100_000, RUNS)
    scratch = Path(tempfile.mkdtemp(prefix="parlor-bench-export-"))
    try:
        figures = measure(scratch, heavy, runs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("| what | figure |")
    print("|---|---|")
    print(f"| export of {heavy:,} posts | {figures['export_s']:.2f} s, "
          f"{figures['export_mb']:.1f} MB ZIP |")  # fmt: skip
    print(f"| baseline: same posts, query to CSV | {figures['baseline_s']:.2f} s, "
          f"{figures['baseline_mb']:.1f} MB |")  # fmt: skip
    print(f"| throughput vs baseline (rows/s ratio) | {figures['ratio']:.2f}x |")
    print(f"| peak Python memory, {heavy:,} posts | {figures['heavy_peak_mb']:.1f} MB |")
    print(f"| peak Python memory, {figures['light_posts']:,} posts "
          f"| {figures['light_peak_mb']:.1f} MB |")  # fmt: skip
    print(f"| difference | {figures['memory_difference_mb']:+.1f} MB |")
    common.write_json(args.json, figures)


def measure(scratch: Path, heavy: int, runs: int) -> dict[str, float]:
    app = dataset.build(f"sqlite:///{scratch}/export.sqlite3", heavy + 20_000, heavy_posts=heavy,
                        accounts=1_000)  # fmt: skip
    with app.app_context():
        # The light member: 1,000 of the other posts become account 2's.
        light = 2
        others = select(Post.id).where(Post.user_id != 1).limit(1_000).scalar_subquery()
        db.session.execute(update(Post).where(Post.id.in_(others)).values(user_id=light))
        db.session.commit()
        export_s, export_size = timed(lambda: export_bytes(1), runs)
        base_s, base_size = timed(lambda: baseline_bytes(1), runs)
        heavy_peak = peak_mb(lambda: export_bytes(1))
        light_peak = peak_mb(lambda: export_bytes(light))
        light_posts = db.session.scalar(
            select(db.func.count()).select_from(Post).where(Post.user_id == light)
        )
        db.engine.dispose()
    return {
        "heavy_posts": heavy,
        "runs": runs,
        "export_s": export_s,
        "export_mb": export_size / 1e6,
        "baseline_s": base_s,
        "baseline_mb": base_size / 1e6,
        "ratio": base_s / export_s,
        "heavy_peak_mb": heavy_peak,
        "light_peak_mb": light_peak,
        "light_posts": light_posts,
        "memory_difference_mb": heavy_peak - light_peak,
    }


if __name__ == "__main__":
    main()
