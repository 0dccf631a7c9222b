"""Forged client addresses (P6, P7), walked over every route: a client may send any
`X-Forwarded-For` (or `Forwarded`, `X-Real-IP`...) it likes. Without trusted proxies the
address recorded (posts, edits, sign-ins, the audit log) and logged (the access log) is the
socket peer's; with TRUSTED_PROXIES set, only what trusted hops appended is believed."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from forum.db import IPColumn, db

from .conftest import send, sign_in, through_emulator
from .routes import GET_WRITES, ROUTES, calls_for, classified_pairs, key
from .world import IPS, PEOPLE, World
from .world import world as fresh_world

FORGED = "198.18.0.66"  # what the client claims
CLIENT = "203.0.113.200"  # the client as a trusted proxy saw it
PEER = "192.0.2.99"  # the socket peer when no proxy is trusted
PROXY = "10.1.2.3"


def forged_headers(chain: str) -> dict[str, str]:
    return {
        "X-Forwarded-For": chain,
        "Forwarded": f"for={FORGED}",
        "X-Real-IP": FORGED,
        "True-Client-IP": FORGED,
        "CF-Connecting-IP": FORGED,
        "X-Client-IP": FORGED,
    }


def walk(world: World, remote_addr: str, chain: str, only_recording: bool = False) -> int:
    """Every classified route once, as whom it is for, with the CSRF token; the count.
    `only_recording`: just the routes that record an address (writes, audited reads)."""
    sent = 0
    for rule, method in classified_pairs():
        if only_recording and method == "GET" and rule.endpoint not in GET_WRITES:
            continue
        route = ROUTES[key(method, rule.endpoint)]
        for call in calls_for(rule, method, world):
            who = route.actor or ("alice" if method != "GET" else None)
            r = send(world, who, call, remote_addr=remote_addr, headers=forged_headers(chain))
            assert r.status_code < 500, str(call)
            sent += 1
    return sent


def recorded_ips(app: Flask) -> set[str]:
    """Every client address in every IP column (screened ranges are not clients)."""
    found: set[str] = set()
    with app.app_context():
        for table in db.metadata.sorted_tables:
            if table.name == "screened_ips":
                continue
            for column in table.columns:
                if isinstance(column.type, IPColumn):
                    found |= {str(v) for v in db.session.scalars(select(column)) if v is not None}
        db.session.rollback()
    return found


def logged_ips(path: Path) -> list[Any]:
    return [json.loads(line)["ip"] for line in path.read_text().splitlines()]


@pytest.fixture
def logged(app: Flask, make_app: Callable[..., Flask], tmp_path: Path) -> Callable[..., Any]:
    """(an app with TRUSTED_PROXIES `trusted` logging to a file, the file, its world)."""

    def build(trusted: str = "") -> tuple[Flask, Path, World]:
        log = tmp_path / f"access-{len(trusted)}.log"
        parlor = make_app(ACCESS_LOG=str(log), TRUSTED_PROXIES=trusted)
        world = fresh_world(parlor)
        for name in PEOPLE:  # signed in now, so the log below holds only the walk
            world.member(name)
        return parlor, log, world

    return build


def test_without_trusted_proxies_the_peer_is_recorded_and_logged(logged) -> None:
    parlor, log, world = logged()
    before = recorded_ips(parlor)
    log.write_text("")
    sent = walk(world, PEER, f"{FORGED}, {CLIENT}")
    assert sent >= 80
    new = recorded_ips(parlor) - before
    assert new == {PEER}, new  # posts, edits and staff actions were recorded, from the peer
    ips = logged_ips(log)
    assert len(ips) >= sent
    assert set(ips) == {PEER}


def test_through_a_trusted_proxy_only_its_hop_is_believed(logged) -> None:
    parlor, log, world = logged("10.0.0.0/8")
    before = recorded_ips(parlor)
    log.write_text("")
    walk(world, PROXY, f"{FORGED}, {CLIENT}")
    assert recorded_ips(parlor) - before == {CLIENT}
    assert set(logged_ips(log)) == {CLIENT}


def test_an_untrusted_peer_is_not_believed_even_when_proxies_are_trusted(logged) -> None:
    """The peer claims to be a trusted proxy relaying someone else: it is not one."""
    parlor, log, world = logged("10.0.0.0/8")
    before = recorded_ips(parlor)
    log.write_text("")
    walk(world, PEER, f"{FORGED}, {PROXY}", only_recording=True)
    assert recorded_ips(parlor) - before == {PEER}
    assert set(logged_ips(log)) == {PEER}


def test_a_sign_in_records_the_peer_not_the_header(
    app: Flask, make_app: Callable[..., Flask], emulator: tuple[str, Flask], tmp_path: Path
) -> None:
    base, _emu = emulator
    log = tmp_path / "access.log"
    parlor = make_app(**through_emulator(base), ACCESS_LOG=str(log))
    client = parlor.test_client()
    client.environ_base.update({"REMOTE_ADDR": PEER, **_environ(forged_headers(FORGED))})
    r = sign_in(client, "octocat", ip=PEER)
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    assert recorded_ips(parlor) == {PEER}
    assert set(logged_ips(log)) == {PEER}
    assert ipaddress.ip_address(PEER) not in {ipaddress.ip_address(ip) for ip in IPS.values()}


def _environ(headers: dict[str, str]) -> dict[str, str]:
    return {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
