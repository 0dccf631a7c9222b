"""IP lookups at forum scale (issue 4, §7): is every lookup answered from an index?

Builds databases of 10,000 and 1,000,000 posts (50,000 accounts, random IPv4 and IPv6,
bulk inserts), then prints the median time of an address lookup, a /24 lookup, a typical
account's IP report and the report of an account with 100,000 posts, at both sizes, on
SQLite and PostgreSQL. The figure that matters is the ratio of the large to the small
database (goal: at most 3x), since absolute times on a shared machine drift.

    .venv/bin/python bench/ip_lookup.py                    # both sizes, SQLite only
    .venv/bin/python bench/ip_lookup.py --postgresql postgresql://postgres@127.0.0.1/test
    .venv/bin/python bench/ip_lookup.py --quick            # 10,000 and 100,000 posts
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PARLOR_ENV", "testing")

import common
import dataset
from sqlalchemy import select

from forum.content.models import Post
from forum.db import db
from forum.moderation import ip_reports
from forum.moderation.screening import parse_network
from forum.users.models import User

HEAVY_POSTS = 100_000
# The "typical" account (account 2) has the same posts, from the same number of addresses,
# in both forums: the ratio is then the forum's size alone. (Taking whoever posted some
# address instead gave an account with 1 post at 10,000 posts and about 20 at 1,000,000.)
TYPICAL_POSTS = 20
RUNS = 25


def build(url: str, posts: int) -> tuple[Any, Any]:
    app = dataset.build(
        url, posts, heavy_posts=min(HEAVY_POSTS, posts // 10), typical_posts=TYPICAL_POSTS
    )
    with app.app_context():  # an address of the random posts
        sample = db.session.scalar(select(Post.ip).where(Post.user_id > 2).limit(1))
    return app, sample


def median_ms(fn: Callable[[], Any]) -> float:
    fn()  # warm the cache once
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(app: Any, sample: Any) -> dict[str, float]:
    with app.app_context():
        single = parse_network(str(sample))
        v4 = sample if sample.version == 4 else ipaddress.IPv4Address("192.0.2.1")
        slash24 = parse_network(f"{v4}/24")
        heavy = db.session.get(User, 1)
        other = db.session.get(User, 2)

        def lookup(network: Any) -> Callable[[], Any]:
            return lambda: (ip_reports.lookup_accounts(network),
                            ip_reports.lookup_posts(network, 0))  # fmt: skip

        return {
            "address lookup": median_ms(lookup(single)),
            "/24 lookup": median_ms(lookup(slash24)),
            "account IP report (typical)": median_ms(lambda: ip_reports.user_ips(other)),
            "account IP report (heavy)": median_ms(lambda: ip_reports.user_ips(heavy)),
        }


def run(
    label: str, make_url: Callable[[int], str], sizes: list[int], figures: list[dict[str, Any]]
) -> list[str]:
    results: dict[int, dict[str, float]] = {}
    for size in sizes:
        started = time.perf_counter()
        app, sample = build(make_url(size), size)
        print(f"  {label}: built {size:,} posts in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)  # fmt: skip
        results[size] = measure(app, sample)
        with app.app_context():
            heavy_posts = db.session.scalar(
                select(db.func.count()).select_from(Post).where(Post.user_id == 1)
            )
            db.engine.dispose()
        results[size]["_heavy_posts"] = heavy_posts
    small, large = sizes[0], sizes[-1]
    lines = []
    for name in results[small]:
        if name.startswith("_"):
            continue
        a, b = results[small][name], results[large][name]
        lines.append(f"| {label} | {name} | {a:.2f} | {b:.2f} | {b / a:.2f}x |")
        figures.append(
            {"database": label, "lookup": name, "small_ms": a, "large_ms": b, "ratio": b / a}
        )
    lines.append(
        f"| {label} | (heavy account's posts) | {results[small]['_heavy_posts']:,} "
        f"| {results[large]['_heavy_posts']:,} | |"
    )
    return lines


def main() -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--sizes", help="post counts, small and large (10000,1000000; "
                        "quick: 10000,100000)")  # fmt: skip
    args = parser.parse_args()
    default = "10000,100000" if args.quick else "10000,1000000"
    sizes = [int(s) for s in (args.sizes or default).split(",")]
    scratch = Path(tempfile.mkdtemp(prefix="parlor-bench-"))
    figures: list[dict[str, Any]] = []
    try:
        lines = run("SQLite", lambda n: f"sqlite:///{scratch}/posts-{n}.sqlite3", sizes, figures)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if args.postgresql:
        with common.postgres_scratch(args.postgresql, "ip") as url:
            lines += run("PostgreSQL", lambda n: url, sizes, figures)
    small, large = f"{sizes[0]:,}", f"{sizes[-1]:,}"
    print(f"| database | median of {RUNS} | {small} posts (ms) | {large} posts (ms) | ratio |")
    print("|---|---|---|---|---|")
    print("\n".join(lines))
    common.write_json(args.json, {"sizes": sizes, "runs": RUNS, "lookups": figures})


if __name__ == "__main__":
    main()
