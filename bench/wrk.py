"""Run wrk (Debian's package) against one URL for a fixed time and read its summary."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

POST_SCRIPT = Path(__file__).resolve().parent / "wrk_post.lua"
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class Result:
    requests_per_second: float
    requests: int
    errors: int  # non-2xx/3xx answers and socket errors
    p50_ms: float
    p99_ms: float


def available() -> bool:
    return shutil.which("wrk") is not None


def run(
    url: str,
    *,
    seconds: float,
    connections: int,
    headers: dict[str, str] | None = None,
    post_topic: int | None = None,
    post: bool = False,
    run_id: str = "0",
) -> Result:
    """wrk with one thread (a second would only take CPU from the servers on a small
    machine); `post` sends the varying JSON bodies of wrk_post.lua."""
    # A long timeout: on a busy machine a slow answer is still an answer, not an error.
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(int(seconds), 1)}s", "--timeout", "30s",
           "--latency"]  # fmt: skip
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    env = {**os.environ, "WRK_RUN": run_id}
    env.pop("WRK_TOPIC", None)
    if post:
        cmd += ["-s", str(POST_SCRIPT)]
        if post_topic is not None:
            env["WRK_TOPIC"] = str(post_topic)
    out = subprocess.run(
        [*cmd, url], capture_output=True, text=True, env=env, timeout=seconds + 60, check=True
    ).stdout
    return parse(out)


def parse(out: str) -> Result:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if not (rate and total):
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        # A read error is a server closing a connection; sync workers do that on purpose.
        errors += int(m.group(1)) + int(m.group(3)) + int(m.group(4))
    return Result(
        requests_per_second=float(rate.group(1)),
        requests=int(total.group(1)),
        errors=errors,
        p50_ms=_percentile(out, "50%"),
        p99_ms=_percentile(out, "99%"),
    )


def _percentile(out: str, label: str) -> float:
    m = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s|m)\s*$", out, re.MULTILINE)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")
