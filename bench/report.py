"""`make bench`: run every benchmark, print its table, and write bench/RESULTS.md with the
machine, the versions, the commands, the figures and each target met or missed.

    .venv/bin/python bench/report.py [--quick] [--postgresql URL] [--only http,export]

Each benchmark runs in its own process (a crash in one still leaves the others' figures);
the hand-written analysis in bench/NOTES.md is copied in at the end.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import common

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "RESULTS.md"
NOTES = BENCH / "NOTES.md"
PROFILES = BENCH / "profiles"
PACKAGES = ("Flask", "Werkzeug", "Flask-SQLAlchemy", "SQLAlchemy", "gunicorn", "psycopg",
            "Jinja2", "pyinstrument")  # fmt: skip


@dataclass(frozen=True)
class Bench:
    key: str
    title: str
    script: str
    postgresql: bool  # takes --postgresql


BENCHES = (
    Bench("ip", "IP lookups (issue 4, §7)", "ip_lookup.py", True),
    Bench("export", "Export (issue 5, §6)", "export.py", False),
    Bench("erasure", "Erasure (issue 6, §4)", "erasure.py", True),
    Bench(
        "http", "Parlor over HTTP against a bare Flask baseline (issue 10)", "http_load.py", True
    ),
    Bench("concurrency", "Concurrent writers (issue 9, §4)", "concurrency.py", True),
)


@dataclass
class Outcome:
    bench: Bench
    command: list[str]
    table: str
    figures: dict[str, Any] | None
    seconds: float
    returncode: int


def run(bench: Bench, quick: bool, postgresql: str | None, scratch: Path) -> Outcome:
    out = scratch / f"{bench.key}.json"
    cmd = [sys.executable, str(BENCH / bench.script), "--json", str(out)]
    if quick:
        cmd.append("--quick")
    if postgresql and bench.postgresql:
        cmd += ["--postgresql", postgresql]
    if bench.key == "http":
        cmd += ["--profile", str(PROFILES)]
    print(f"\n== {bench.title}: {display(cmd)}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    seconds = time.perf_counter() - started
    print(done.stdout, flush=True)
    figures = json.loads(out.read_text()) if done.returncode == 0 and out.exists() else None
    return Outcome(bench, cmd, done.stdout.strip(), figures, seconds, done.returncode)


def display(cmd: list[str]) -> str:
    """The command as someone would type it from the repository root."""
    shown = [".venv/bin/python" if c == sys.executable else c for c in cmd]
    shown = [os.path.relpath(c, ROOT) if c.startswith(str(ROOT)) else c for c in shown]
    if "--json" in shown:  # a scratch file of this run: noise in the report
        i = shown.index("--json")
        del shown[i : i + 2]
    return shlex.join(shown)


# --- targets: (what, target, figure, met) for each benchmark ----------------------------------

Check = tuple[str, str, str, bool]


def ip_checks(f: dict[str, Any]) -> list[Check]:
    small, large = f["sizes"][0], f["sizes"][-1]
    checks = []
    for db_name in sorted({x["database"] for x in f["lookups"]}, reverse=True):
        rows = [x for x in f["lookups"] if x["database"] == db_name]
        worst = max(rows, key=lambda x: x["ratio"])
        slowest = max(x["large_ms"] for x in rows)
        checks.append((
            f"IP and /24 lookups, {large:,} vs {small:,} posts ({db_name})",
            "<= 3x, < 20 ms",
            f"{worst['ratio']:.2f}x ({worst['lookup']}), slowest {slowest:.1f} ms",
            worst["ratio"] <= 3 and slowest < 20,
        ))  # fmt: skip
    return checks


def export_checks(f: dict[str, Any]) -> list[Check]:
    return [
        (f"export of {f['heavy_posts']:,} posts, throughput vs a plain query to CSV",
         ">= 0.3x", f"{f['ratio']:.2f}x", f["ratio"] >= 0.3),
        ("export memory, heavy vs light member", "<= +50 MB",
         f"{f['memory_difference_mb']:+.1f} MB", f["memory_difference_mb"] <= 50),
    ]  # fmt: skip


def erasure_checks(f: dict[str, Any]) -> list[Check]:
    small, large = f["sizes"]
    return [
        (f"erasure, {large:,} vs {small:,} posts ({x['database']})", "<= 20x, < 5 s",
         f"{x['ratio']:.1f}x, {x['large_s']:.2f} s", x["ratio"] <= 20 and x["large_s"] < 5)
        for x in f["erasures"]
    ]  # fmt: skip


def http_checks(f: dict[str, Any]) -> list[Check]:
    checks = []
    for res in f["results"]:
        for row in res["rows"]:
            what = f"{row['scenario']} ({res['database']})"
            if "error" in row:
                checks.append((what, f">= {row['target']}x", f"not measured: {row['error']}",
                               False))  # fmt: skip
                continue
            figure = (
                f"{row['ratio']:.2f}x of baseline `{row['baseline']}` "
                f"(per busy CPU-second: {row['cpu_ratio']:.2f}x)"
            )
            checks.append((what, f">= {row['target']}x", figure, row["met"]))
    return checks


def concurrency_checks(figures: dict[str, Any]) -> list[Check]:
    return [
        (
            f"{r['clients']} concurrent members x {r['replies']} replies ({r['database']})",
            "nothing lost, counts exact",
            r["figures"],
            bool(r["ok"]),
        )
        for r in figures["runs"]
    ]


CHECKS: dict[str, Callable[[dict[str, Any]], list[Check]]] = {
    "ip": ip_checks,
    "export": export_checks,
    "erasure": erasure_checks,
    "http": http_checks,
    "concurrency": concurrency_checks,
}


# --- the machine ------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.0f} GiB"
    except OSError:
        pass
    return "unknown"


def postgresql_version(url: str | None) -> str | None:
    if not url:
        return None
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar())
    finally:
        engine.dispose()


def wrk_version() -> str:
    try:
        out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
        return (out.stdout or out.stderr).split()[1]
    except (OSError, IndexError):
        return "not installed"


def machine(postgresql: str | None, load_before: tuple[float, ...]) -> list[str]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in PACKAGES)
    pg = postgresql_version(postgresql)
    load_after = os.getloadavg()
    return [
        f"- cores: {cores}; CPU: {cpu_model()}; memory: {memory_gib()}",
        f"- load average (1 min) before / after: {load_before[0]:.1f} / {load_after[0]:.1f} "
        "(the machine is shared: absolute times drift, ratios within a run are what count)",
        f"- Python {platform.python_version()}; {versions}",
        f"- SQLite {sqlite3.sqlite_version}" + (f"; PostgreSQL {pg}" if pg else "")
        + f"; wrk {wrk_version()}",
    ]  # fmt: skip


# --- RESULTS.md --------------------------------------------------------------------------------


def write(outcomes: list[Outcome], argv: list[str], quick: bool, lines_machine: list[str]) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    mode = "quick (BENCH_QUICK=1: smaller data, fewer runs)" if quick else "full"
    doc = [
        "# Benchmark results",
        "",
        f"Written by `bench/report.py` ({mode}) on {now}: "
        f"`{shlex.join(['.venv/bin/python', 'bench/report.py', *argv])}` "
        f"(what `make bench` runs). Do not edit by hand; the analysis comes from "
        f"`bench/NOTES.md`.",
        "",
        "## Machine",
        "",
        *lines_machine,
        "",
        "## Targets",
        "",
        "| what | target | figure | |",
        "|---|---|---|---|",
    ]
    for o in outcomes:
        if o.figures is None:
            doc.append(f"| {o.bench.title} | | failed (exit {o.returncode}) | **missed** |")
            continue
        for what, target, figure, met in CHECKS[o.bench.key](o.figures):
            doc.append(f"| {what} | {target} | {figure} | {'met' if met else '**missed**'} |")
    doc += [
        "| SQL queries per page, constant in the number of posts | same count, small and "
        "large | `tests/test_query_counts.py`, `tests/test_content_api.py` (run by `make test`) "
        "| tests |",
        "",
    ]
    for o in outcomes:
        doc += [
            f"## {o.bench.title}",
            "",
            f"`{display(o.command)}` ({o.seconds:.0f} s)",
            "",
            o.table if o.returncode == 0 else f"Failed with exit status {o.returncode}.",
            "",
        ]
        if o.bench.key == "http" and o.figures:
            doc += http_details(o.figures)
    if (PROFILES / "summary.md").exists():
        doc += [
            "## Where the time goes (profiles)",
            "",
            "In-process, through the WSGI app without HTTP or gunicorn, on the SQLite database "
            "of the HTTP run, same production settings: CPU time per request, then "
            f"pyinstrument's samples sorted by the code they fall in. Full call trees: "
            f"`bench/{PROFILES.name}/`.",
            "",
            (PROFILES / "summary.md").read_text().strip(),
            "",
        ]
    if NOTES.exists():
        doc += [NOTES.read_text().strip(), ""]
    RESULTS.write_text("\n".join(doc))


def http_details(f: dict[str, Any]) -> list[str]:
    s = f["settings"]
    out = [
        f"{s['rounds']} alternating rounds of {s['seconds']:g} s per scenario and server, wrk "
        f"with 1 thread and {s['connections']} connections; both servers under "
        f"`gunicorn.conf.py` with the same environment ({json.dumps(s['gunicorn_env'])}), "
        "Parlor with PARLOR_ENV=production, rate limits off and its access log on. "
        '"Per busy CPU-second" is the cross-check: requests per second of CPU the whole '
        "machine worked (from /proc/stat, without the time other virtual machines took), "
        "Parlor's over the baseline's; it holds still when a neighbour takes a core, but it "
        "does not see time spent waiting, which requests per second do. "
        "Ratio per round (Parlor's requests/s over the baseline's):",
        "",
    ]
    for res in f["results"]:
        for row in res["rows"]:
            if "ratios" in row:
                ratios = ", ".join(f"{r:.2f}" for r in row["ratios"])
                out.append(f"- {res['database']}, {row['scenario']}: {ratios} "
                           f"(median latency {row['parlor_p50_ms']:.1f} ms vs "
                           f"{row['baseline_p50_ms']:.1f} ms)")  # fmt: skip
    return [*out, ""]


def main() -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--only", help="comma-separated: " + ",".join(b.key for b in BENCHES)
                        + " (then RESULTS.md is left as it is)")  # fmt: skip
    args = parser.parse_args()
    chosen = [b for b in BENCHES if not args.only or b.key in args.only.split(",")]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="parlor-bench-report-") as scratch:
        outcomes = [run(b, args.quick, args.postgresql, Path(scratch)) for b in chosen]
    common.write_json(args.json, {o.bench.key: o.figures for o in outcomes})
    if args.only:  # a partial run would leave RESULTS.md without the other benchmarks
        print(f"\n{RESULTS.relative_to(ROOT)} not written (--only)", file=sys.stderr)
    else:
        write(outcomes, sys.argv[1:], args.quick, machine(args.postgresql, load_before))
        print(f"\nWrote {RESULTS.relative_to(ROOT)}", file=sys.stderr)
    if any(o.returncode for o in outcomes):
        sys.exit(1)


if __name__ == "__main__":
    main()
