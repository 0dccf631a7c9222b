"""What every benchmark script takes: --quick (or BENCH_QUICK=1) for a run of a few
minutes on smaller data, --postgresql for a second run on a scratch PostgreSQL database,
and --json for its figures, which `bench/report.py` turns into RESULTS.md."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text


def parser(doc: str | None, postgresql: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        default=os.environ.get("BENCH_QUICK", "").strip() not in ("", "0"),
        help="smaller data and fewer runs (also BENCH_QUICK=1)",
    )
    if postgresql:
        p.add_argument("--postgresql", help="a PostgreSQL URL whose server may host a "
                       "scratch database (created and dropped here)")  # fmt: skip
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    return p


def write_json(path: Path | None, data: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(data, indent=2, default=str))


@contextmanager
def postgres_scratch(admin_url: str, label: str) -> Iterator[str]:
    """A new database on the server of `admin_url`, dropped afterwards (even if its
    connections are still open): the URL of it."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"parlor_bench_{label}_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent working since boot (user, system, interrupts),
    from /proc/stat: not idle, not waiting for disk, and not "steal", the time other virtual
    machines took. Requests per busy CPU-second therefore hold still when a neighbour takes
    a core away, which requests per second do not."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")
