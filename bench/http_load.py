"""Parlor over HTTP against a bare Flask + Flask-SQLAlchemy baseline (issue 10, §1-2).

Both apps run under gunicorn with gunicorn.conf.py and the same settings, on the same
database (a scratch SQLite file; a scratch PostgreSQL database too with --postgresql),
Parlor in production mode with rate limits off. wrk loads one URL at a time on loopback;
each scenario alternates Parlor and its baseline (the order flips every round) and the
figure is the median over rounds of Parlor's requests/s over the baseline's, since
absolute rates on a shared machine drift.

    .venv/bin/python bench/http_load.py [--quick] [--postgresql URL] [--json out.json]
"""

from __future__ import annotations

import argparse
import math
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PARLOR_ENV", "testing")  # for building the dataset in this process

import baseline_app
import common
import dataset
import requests
import servers
import wrk

import config
from forum.db import db

READ_TOPIC = 1  # the topic every read shows: 100 posts, so the first 20 are a full page
REPLY_TOPIC = 2  # replies go elsewhere, so the reads stay the same size
POSTS, ACCOUNTS = 10_000, 1_000
GUNICORN_THREADS = 2  # gunicorn.conf.py's default, which both servers run with


@dataclass(frozen=True)
class Scenario:
    name: str
    target: float  # at least this many times the baseline's requests/s
    parlor_path: str
    baseline_path: str
    signed_in: bool = False
    post: bool = False


SCENARIOS = (
    Scenario("topic JSON, 20 posts, signed out", 0.5, f"/t/{READ_TOPIC}.json", "/rows/20.json"),
    Scenario(
        "topic HTML page, 20 posts, signed out",
        0.3,
        f"/t/topic-{READ_TOPIC}/{READ_TOPIC}",
        "/rows/20.json",
    ),
    Scenario(
        "topic JSON, signed in",
        0.4,
        f"/t/{READ_TOPIC}.json",
        "/rows/20.json",
        signed_in=True,
    ),
    Scenario("creating a reply", 0.5, "/posts.json", "/rows.json", signed_in=True, post=True),
    Scenario("latest topics JSON, 30 topics", 0.5, "/latest.json", "/rows/30.json"),
)


@dataclass
class Settings:
    rounds: int
    seconds: float
    connections: int
    gunicorn_env: dict[str, str]


def headers_for(scenario: Scenario, browser: servers.Browser, parlor: bool) -> dict[str, str]:
    headers = {"User-Agent": servers.USER_AGENT}
    if scenario.signed_in and parlor:
        headers |= {"Cookie": browser.cookie, "X-CSRF-Token": browser.csrf}
    return headers


def problem(srv: servers.Servers, scenario: Scenario, browser: servers.Browser) -> str | None:
    """Why Parlor's side of a scenario cannot be measured (None: it answers as it should).
    Sent with the very headers wrk will send."""
    headers = headers_for(scenario, browser, parlor=True)
    body = {"topic_id": REPLY_TOPIC, "raw": "A reply to check that replies go through."}
    r = requests.request(
        "POST" if scenario.post else "GET",
        srv.parlor + scenario.parlor_path,
        headers=headers,
        json=body if scenario.post else None,
        timeout=30,
    )
    if r.status_code != 200:
        return f"HTTP {r.status_code}"
    if scenario.parlor_path.endswith(".json"):
        data = r.json()
        if "post_stream" in data:
            if len(data["post_stream"]["posts"]) != 20:
                return "the topic does not show 20 posts"
            if data["details"]["can_create_post"] != scenario.signed_in:
                return "signed in or out, not as the scenario says"
        if "topic_list" in data and len(data["topic_list"]["topics"]) != 30:
            return "not 30 topics"
    elif "text/html" not in r.headers.get("Content-Type", ""):
        return "not an HTML page"
    if scenario.signed_in and not scenario.post and "Set-Cookie" in r.headers:
        print(f"  note: {scenario.name} rewrites the session cookie", file=sys.stderr)
    return None


def check_baseline(srv: servers.Servers) -> None:
    for n in (20, 30):
        assert len(requests.get(f"{srv.baseline}/rows/{n}.json", timeout=10).json()) == n
    row = requests.post(srv.baseline + "/rows.json", json={"body": "a row"}, timeout=10)
    row.raise_for_status()


@dataclass(frozen=True)
class Load:
    result: wrk.Result
    cpu_seconds: float  # busy CPU time of the whole machine meanwhile (servers, database, wrk)

    @property
    def per_cpu_second(self) -> float:
        return self.result.requests / max(self.cpu_seconds, 1e-9)


def load(
    base: str, scenario: Scenario, path: str, browser: servers.Browser, s: Settings, run: str
) -> Load:
    parlor = not path.startswith("/rows")
    busy = common.busy_cpu_seconds()
    result = wrk.run(
        base + path,
        seconds=s.seconds,
        connections=s.connections,
        headers=headers_for(scenario, browser, parlor),
        post=scenario.post,
        post_topic=REPLY_TOPIC if parlor else None,
        run_id=run,
    )
    if result.errors:  # counted and reported; a run where most fail is no measurement
        print(f"    {base}{path}: {result.errors} of {result.requests} failed", file=sys.stderr)
        if result.errors * 2 > result.requests:
            raise RuntimeError(f"{base}{path}: most requests failed")
    return Load(result, common.busy_cpu_seconds() - busy)


def measure(srv: servers.Servers, browser: servers.Browser, s: Settings) -> list[dict[str, Any]]:
    check_baseline(srv)
    problems = {sc.name: problem(srv, sc, browser) for sc in SCENARIOS}
    # Warm both servers (every worker imports lazily and opens its connections).
    for scenario in SCENARIOS:
        if not scenario.post and not problems[scenario.name]:
            for base, path in ((srv.parlor, scenario.parlor_path),
                               (srv.baseline, scenario.baseline_path)):  # fmt: skip
                load(base, scenario, path, browser, Settings(1, 1, s.connections, {}), "warm")
    rows: list[dict[str, Any]] = []
    for scenario in SCENARIOS:
        if problems[scenario.name]:
            print(f"    {scenario.name}: not measured, {problems[scenario.name]}", file=sys.stderr)
            rows.append({"scenario": scenario.name, "target": scenario.target,
                         "error": problems[scenario.name], "met": False})  # fmt: skip
            continue
        loads: list[tuple[Load, Load]] = []
        for r in range(s.rounds):
            run = f"{secrets.token_hex(3)}{r}"
            if r % 2:  # every other round the baseline goes first
                base_l = load(srv.baseline, scenario, scenario.baseline_path, browser, s, run)
                parlor_l = load(srv.parlor, scenario, scenario.parlor_path, browser, s, run)
            else:
                parlor_l = load(srv.parlor, scenario, scenario.parlor_path, browser, s, run)
                base_l = load(srv.baseline, scenario, scenario.baseline_path, browser, s, run)
            loads.append((parlor_l, base_l))
        pairs = [(p.result, b.result) for p, b in loads]
        for p, b in pairs:
            print(f"    {scenario.name}: Parlor {p.requests_per_second:.0f}/s, "
                  f"baseline {b.requests_per_second:.0f}/s", file=sys.stderr)  # fmt: skip
        ratio = statistics.median(p.requests_per_second / b.requests_per_second for p, b in pairs)
        rows.append(
            {
                "scenario": scenario.name,
                "baseline": scenario.baseline_path,
                "parlor_rps": statistics.median(p.requests_per_second for p, _ in pairs),
                "baseline_rps": statistics.median(b.requests_per_second for _, b in pairs),
                "parlor_p50_ms": statistics.median(p.p50_ms for p, _ in pairs),
                "baseline_p50_ms": statistics.median(b.p50_ms for _, b in pairs),
                "ratio": ratio,
                "ratios": [p.requests_per_second / b.requests_per_second for p, b in pairs],
                # The cross-check: requests per busy CPU-second, Parlor's over the baseline's.
                # Steadier than `ratio` when other machines take CPU; blind to time spent
                # waiting (for a lock, say), which `ratio` counts.
                "cpu_ratio": statistics.median(
                    p.per_cpu_second / b.per_cpu_second for p, b in loads
                ),
                "failed_requests": sum(p.errors + b.errors for p, b in pairs),
                "target": scenario.target,
                "met": ratio >= scenario.target,
            }
        )
    return rows


def run_database(label: str, url: str, scratch: Path, s: Settings) -> dict[str, Any]:
    started = time.perf_counter()
    app = dataset.build(url, POSTS, heavy_posts=0, accounts=ACCOUNTS)
    with app.app_context():
        db.engine.dispose()
    baseline_app.prepare(config.database_url(url))
    print(f"  {label}: built {POSTS:,} posts in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)  # fmt: skip
    secret = secrets.token_hex(32)
    with servers.servers(url, scratch, secret, s.gunicorn_env) as srv:
        browser = servers.sign_in(srv.parlor)
        rows = measure(srv, browser, s)
    return {"database": label, "url": url, "rows": rows, "secret": secret, "browser": browser}


def table(results: list[dict[str, Any]], s: Settings) -> str:
    lines = [
        f"| database | what | Parlor req/s | baseline | baseline req/s | ratio "
        f"(median of {s.rounds}) | per CPU-second | target | |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for res in results:
        for row in res["rows"]:
            if "error" in row:
                lines.append(
                    f"| {res['database']} | {row['scenario']} | not measured: {row['error']} "
                    f"| | | | | >= {row['target']}x | **missed** |"
                )
                continue
            lines.append(
                f"| {res['database']} | {row['scenario']} | {row['parlor_rps']:,.0f} "
                f"| `{row['baseline']}` | {row['baseline_rps']:,.0f} | {row['ratio']:.2f}x "
                f"| {row['cpu_ratio']:.2f}x "
                f"| >= {row['target']}x | {'met' if row['met'] else '**missed**'} |"
            )
    return "\n".join(lines)


def run_all(args: argparse.Namespace, s: Settings, scratch: Path) -> list[dict[str, Any]]:
    results = [run_database("SQLite", f"sqlite:///{scratch}/http.sqlite3", scratch, s)]
    if args.profile:  # on the SQLite database just measured, with its signed-in member
        import profile_routes

        first = results[0]
        summary = profile_routes.run(
            first["url"],
            scratch,
            first["secret"],
            first["browser"].cookie,
            first["browser"].csrf,
            args.profile,
            n=50 if args.quick else 300,
            read_topic=READ_TOPIC,
            reply_topic=REPLY_TOPIC,
        )
        (args.profile / "summary.md").write_text(summary + "\n")
    if args.postgresql:
        with common.postgres_scratch(args.postgresql, "http") as url:
            results.append(run_database("PostgreSQL", url, scratch, s))
    return results


def main() -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--rounds", type=int, help="alternating runs per scenario (11; quick 5)")
    parser.add_argument("--seconds", type=float, help="seconds per wrk run (2; quick 1)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--profile", type=Path, help="then profile the routes in-process "
                        "(pyinstrument), writing the report to this folder")  # fmt: skip
    args = parser.parse_args()
    if not wrk.available():
        sys.exit("wrk is not installed: apt-get install -y wrk (see `make bench`)")
    s = Settings(
        rounds=args.rounds or (5 if args.quick else 11),
        seconds=args.seconds or (1 if args.quick else 2),
        connections=args.connections,
        # The same for both servers; the workers are the config file's default for this machine.
        gunicorn_env={
            "GUNICORN_LOG_LEVEL": "warning",
            # gthread serves a kept-alive connection in the worker that accepted it, and one
            # worker at times accepted all of wrk's: one process on one core, half the rate
            # and half the CPU idle, for either app (2 rounds in 14). Past half of them (and
            # its threads' own), a worker leaves the rest to the others.
            "GUNICORN_WORKER_CONNECTIONS": str(GUNICORN_THREADS + math.ceil(args.connections / 2)),
        },
    )
    scratch = Path(tempfile.mkdtemp(prefix="parlor-bench-http-"))
    try:
        results = run_all(args, s, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(table(results, s))
    for res in results:
        del res["secret"], res["browser"]
    common.write_json(args.json, {"settings": {**vars(s)}, "results": results})


if __name__ == "__main__":
    main()
