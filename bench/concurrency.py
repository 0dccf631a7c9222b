"""Concurrent writers, the long run (issue 9, §4): N members (16) each posting R replies (200)
into the same few topics through Parlor under gunicorn (several workers, rate limits off),
then liking and unliking the same posts at once. Prints the figures and checks that nothing
was lost: every accepted reply stored exactly once with its IP, post numbers 1..n per topic,
every counter exact. Exits 1 if anything is off.

    .venv/bin/python bench/concurrency.py [--clients 16] [--replies 200] [--postgresql URL]

The same harness runs bounded in the test suite (tests/test_concurrency.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("PARLOR_ENV", "testing")  # for building the dataset in this process

from concurrent_writers import Outcome, Plan, like_storm, prepare, problems, write_storm  # noqa: E402
from served import gunicorn, scratch_database, server_settings  # noqa: E402

from forum import create_app  # noqa: E402
from forum.db import db  # noqa: E402


def run(label: str, db_url: str, plan: Plan, workers: int, threads: int) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="parlor-bench-concurrency-"))
    with scratch_database(db_url, work, "bench_concurrency") as url:
        settings = {**server_settings(url, work), "TRUSTED_PROXIES": "127.0.0.1/32, ::1/128"}
        app = create_app(settings)
        with app.app_context():
            db.create_all()
        world = prepare(app, plan)
        out = Outcome()
        log = work / "gunicorn.log"
        with gunicorn(settings, workers=workers, threads=threads, log=log) as base:
            write_storm(base, world, plan, out)
            like_storm(base, app, world, plan, out)
        found = problems(app, world, plan, out)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    tracebacks = log.read_text(errors="replace").count("Traceback")
    print(f"{label} ({workers} workers x {threads} threads): {out.figures(plan)}")
    for problem in found[:40]:
        print(f"  PROBLEM {problem}")
    if tracebacks:
        print(f"  PROBLEM {tracebacks} tracebacks in {log}")
    ok = not found and not tracebacks and len(out.accepted) == plan.clients * plan.replies
    summary = {"database": label, "ok": ok, "clients": plan.clients, "replies": plan.replies}
    print(f"  {'OK: nothing lost, every count exact' if ok else 'FAILED'}")
    return {**summary, "figures": out.figures(plan)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--replies", type=int, default=200, help="per client")
    parser.add_argument("--topics", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--postgresql", help="a PostgreSQL URL whose server may host a "
                        "scratch database (created and dropped here)")  # fmt: skip
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--quick", action="store_true", help="8 clients x 25 replies")
    parser.add_argument("--json", help="also write the outcome to this file (bench/report.py)")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.replies = 8, 25
    plan = Plan(clients=args.clients, replies=args.replies, topics=args.topics)
    runs = [] if args.no_sqlite else [("SQLite", "sqlite:///unused")]
    if args.postgresql:
        from config import database_url

        runs.append(("PostgreSQL", database_url(args.postgresql)))
    results = [run(label, url, plan, args.workers, args.threads) for label, url in runs]
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": results}))
    sys.exit(0 if all(r["ok"] for r in results) else 1)


if __name__ == "__main__":
    main()
