"""Serve the GitHub emulator: python -m auth.emulator [--host 127.0.0.1] [--port 5001]."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys

from werkzeug.serving import run_simple

from .app import DEFAULTS, create_app


def check_can_serve(host: str, env: str | None) -> None:
    """Exit with status 2 unless it is safe to serve: not production, loopback only.

    The emulator signs anyone in as any account, so it must never face a network.
    """
    problem = None
    if (env or "").strip().lower() == "production":
        problem = "PARLOR_ENV is production; the emulator is for development and tests only"
    elif not _is_loopback(host):
        problem = f"{host!r} is not a loopback address; use 127.0.0.1, ::1 or localhost"
    if problem:
        print(f"auth.emulator: refusing to start: {problem}", file=sys.stderr)
        raise SystemExit(2)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # any other host name could resolve to anything
        return False


def _flag(value: str | None, default: bool) -> bool:
    if value is None or not value.strip():
        return default
    return value.strip().lower() not in ("0", "false", "no", "off")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m auth.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    args = parser.parse_args(argv)
    check_can_serve(args.host, os.environ.get("PARLOR_ENV"))
    app = create_app(
        {
            "AUTO_APPROVE": _flag(os.environ.get("GITHUB_EMULATOR_AUTO_APPROVE"), True),
            "CLIENT_ID": os.environ.get("GITHUB_CLIENT_ID") or DEFAULTS["CLIENT_ID"],
            "CLIENT_SECRET": os.environ.get("GITHUB_CLIENT_SECRET") or DEFAULTS["CLIENT_SECRET"],
        }
    )
    # Threaded: a browser may hold a connection open while a client exchanges a code.
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
