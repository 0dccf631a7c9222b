"""The audit log (issue 4 §5): every IP reveal and lookup, role change, suspension, hide,
close and screening change writes one entry (actor, action, subject, details, time, the
actor's IP); admins read it filtered and paginated, as JSON or CSV; nobody changes it."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from helpers import JSON_TYPE, at, ok
from sqlalchemy import func, select, update

from forum.content.models import Post, Topic
from forum.db import db
from forum.moderation import audit
from forum.moderation.audit_log import PAGE_SIZE
from forum.moderation.models import AuditEntry, ScreenedIP
from forum.net import parse_ip
from forum.users.models import User

TITLE = "A topic that ends up in the audit log"
RAW = "A post that is long enough to be accepted by the forum."
MIA_IP = "192.0.2.200"
ADA_IP = "2001:db8:ada::1"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def refused(response: Any, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == JSON_TYPE
    body = response.get_json()
    assert set(body) == {"errors", "error_type"}, body
    return " ".join(body["errors"])


def entry_count(app: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(AuditEntry.id)))


def read_log(ada: Any, **filters: Any) -> dict[str, Any]:
    return ok(ada.get("/admin/audit-log.json", query_string=filters))


@pytest.fixture
def desk(alice, bob, category_id):
    """alice's topic (from 203.0.113.5) and bob's reply (from 203.0.113.9)."""
    first = ok(
        alice.post(
            "/posts.json",
            json={"title": TITLE, "raw": RAW, "category": category_id},
            **at("203.0.113.5"),
        )
    )
    second = ok(
        bob.post(
            "/posts.json", json={"topic_id": first["topic_id"], "raw": RAW}, **at("203.0.113.9")
        )
    )
    return {"topic": first["topic_id"], "first": first["id"], "reply": second["id"]}


# --- every action writes an entry ---------------------------------------------------------


def check(response: Any) -> None:
    assert response.status_code == 200, response.get_data(as_text=True)


def act_reveal(s: dict[str, Any]) -> None:
    check(s["mia"].get(f"/admin/posts/{s['desk']['reply']}/ip.json", **at(MIA_IP)))


def act_reveal_csv(s: dict[str, Any]) -> None:
    check(s["mia"].get(f"/admin/posts/{s['desk']['reply']}/ip.csv", **at(MIA_IP)))


def act_user_ips(s: dict[str, Any]) -> None:
    check(s["mia"].get("/admin/users/bob/ips.json", **at(MIA_IP)))


def act_user_ips_csv(s: dict[str, Any]) -> None:
    check(s["mia"].get("/admin/users/bob/ips.csv", **at(MIA_IP)))


def act_lookup(s: dict[str, Any]) -> None:
    check(s["mia"].get("/admin/ip-lookup.json?q=203.0.113.0/24&page=1", **at(MIA_IP)))


def act_lookup_csv(s: dict[str, Any]) -> None:
    check(s["mia"].get("/admin/ip-lookup.csv?q=2001:db8::1", **at(MIA_IP)))


def act_shared(s: dict[str, Any]) -> None:
    check(s["mia"].get("/admin/users/bob/shared-ips.json", **at(MIA_IP)))


def act_suspend(s: dict[str, Any]) -> None:
    data = {"suspend_until": "2031-01-02T03:04:00Z", "reason": "Spam"}
    check(s["mia"].put(f"/admin/users/{s['users']['bob']}/suspend.json", data=data, **at(MIA_IP)))


def act_unsuspend(s: dict[str, Any]) -> None:
    with s["app"].app_context():
        bob = db.session.get(User, s["users"]["bob"])
        bob.suspended_until, bob.suspended_reason = T0 + timedelta(days=3650), "Spam"
        db.session.commit()
    check(s["mia"].put(f"/admin/users/{s['users']['bob']}/unsuspend.json", **at(MIA_IP)))


def act_hide(s: dict[str, Any]) -> None:
    check(s["mia"].put(f"/admin/posts/{s['desk']['reply']}/hide.json", **at(MIA_IP)))


def act_unhide(s: dict[str, Any]) -> None:
    with s["app"].app_context():
        db.session.get(Post, s["desk"]["reply"]).hidden_at = T0
        db.session.commit()
    check(s["mia"].put(f"/admin/posts/{s['desk']['reply']}/unhide.json", **at(MIA_IP)))


def act_close(s: dict[str, Any]) -> None:
    data = {"status": "closed", "enabled": "true"}
    check(s["mia"].put(f"/t/{s['desk']['topic']}/status.json", data=data, **at(MIA_IP)))


def act_open(s: dict[str, Any]) -> None:
    with s["app"].app_context():
        db.session.get(Topic, s["desk"]["topic"]).closed = True
        db.session.commit()
    data = {"status": "closed", "enabled": "false"}
    check(s["mia"].put(f"/t/{s['desk']['topic']}/status.json", data=data, **at(MIA_IP)))


def act_screen(s: dict[str, Any]) -> None:
    data = {"ip_address": "198.51.100.0/24", "reason": "a spam farm"}
    response = s["ada"].post("/admin/screened-ips.json", data=data, **at(ADA_IP))
    s["entry"] = ok(response)["screened_ip"]["id"]


def act_unscreen(s: dict[str, Any]) -> None:
    with s["app"].app_context():
        entry = ScreenedIP(
            cidr="198.51.100.0/24",
            first_ip=parse_ip("198.51.100.0"),
            last_ip=parse_ip("198.51.100.255"),
            reason="x",
        )
        db.session.add(entry)
        db.session.commit()
        s["entry"] = entry.id
    check(s["ada"].delete(f"/admin/screened-ips/{s['entry']}.json", **at(ADA_IP)))


def act_unscreen_by_param(s: dict[str, Any]) -> None:
    act_screen(s)
    with s["app"].app_context():
        s["entry"] = db.session.scalar(select(ScreenedIP.id))
        db.session.execute(AuditEntry.__table__.delete())
        db.session.commit()
    check(s["ada"].delete(f"/admin/screened-ips.json?id={s['entry']}", **at(ADA_IP)))


def act_grant_role(s: dict[str, Any]) -> None:
    result = s["app"].test_cli_runner().invoke(args=["forum", "grant-role", "bob", "moderator"])
    assert result.exit_code == 0, result.output


# (action, the act, actor, actor IP, subject user, subject type, subject id key, details)
CASES: list[tuple[str, Callable[[dict[str, Any]], None], Any, Any, Any, str, Any, dict]] = [
    ("reveal_post_ip", act_reveal, "mia", MIA_IP, "bob", "post", "reply", {}),
    ("reveal_post_ip", act_reveal_csv, "mia", MIA_IP, "bob", "post", "reply", {}),
    ("user_ips", act_user_ips, "mia", MIA_IP, "bob", "user", "bob", {}),
    ("user_ips", act_user_ips_csv, "mia", MIA_IP, "bob", "user", "bob", {}),
    (
        "ip_lookup",
        act_lookup,
        "mia",
        MIA_IP,
        None,
        "",
        None,
        {"query": "203.0.113.0/24", "page": 1},
    ),
    (
        "ip_lookup",
        act_lookup_csv,
        "mia",
        MIA_IP,
        None,
        "",
        None,
        {"query": "2001:db8::1/128", "page": 0},
    ),
    ("shared_ips", act_shared, "mia", MIA_IP, "bob", "user", "bob", {}),
    (
        "suspend",
        act_suspend,
        "mia",
        MIA_IP,
        "bob",
        "user",
        "bob",
        {"until": "2031-01-02T03:04:00.000Z", "reason": "Spam"},
    ),
    ("unsuspend", act_unsuspend, "mia", MIA_IP, "bob", "user", "bob", {}),
    ("hide_post", act_hide, "mia", MIA_IP, "bob", "post", "reply", {}),
    ("unhide_post", act_unhide, "mia", MIA_IP, "bob", "post", "reply", {}),
    ("close_topic", act_close, "mia", MIA_IP, "alice", "topic", "topic", {}),
    ("open_topic", act_open, "mia", MIA_IP, "alice", "topic", "topic", {}),
    (
        "screen_ip",
        act_screen,
        "ada",
        ADA_IP,
        None,
        "screened_ip",
        "entry",
        {"cidr": "198.51.100.0/24", "reason": "a spam farm"},
    ),
    (
        "unscreen_ip",
        act_unscreen,
        "ada",
        ADA_IP,
        None,
        "screened_ip",
        "entry",
        {"cidr": "198.51.100.0/24"},
    ),
    (
        "unscreen_ip",
        act_unscreen_by_param,
        "ada",
        ADA_IP,
        None,
        "screened_ip",
        "entry",
        {"cidr": "198.51.100.0/24"},
    ),
    (
        "grant_role",
        act_grant_role,
        None,
        None,
        "bob",
        "user",
        "bob",
        {"role": "moderator", "previous": "member"},
    ),
]


@pytest.mark.parametrize(
    ("action", "act", "actor", "actor_ip", "subject", "subject_type", "subject_key", "details"),
    CASES,
    ids=[f"{c[0]}-{c[1].__name__}" for c in CASES],
)
def test_each_action_writes_one_entry(
    app,
    users,
    desk,
    mia,
    ada,
    action,
    act,
    actor,
    actor_ip,
    subject,
    subject_type,
    subject_key,
    details,
):
    scene: dict[str, Any] = {"app": app, "users": users, "desk": desk, "mia": mia, "ada": ada}
    started = datetime.now(UTC) - timedelta(seconds=1)
    act(scene)
    log = read_log(ada)
    assert len(log["entries"]) == 1, log
    (entry,) = log["entries"]
    assert entry["action"] == action
    assert entry["actor"] == actor
    assert entry["actor_ip"] == actor_ip
    assert entry["subject_user"] == subject
    assert entry["subject_type"] == subject_type
    ids = {**users, **desk, "entry": scene.get("entry")}
    assert entry["subject_id"] == (ids[subject_key] if subject_key else None)
    assert entry["details"] == details
    when = datetime.fromisoformat(entry["created_at"].replace("Z", "+00:00"))
    assert started <= when <= datetime.now(UTC) + timedelta(seconds=1)


def test_refused_requests_write_no_entry(app, users, desk, alice, mia, ada):
    mia.get("/admin/ip-lookup.json?q=1.0.0.0/7", **at(MIA_IP))
    mia.get("/admin/ip-lookup.json?q=garbage", **at(MIA_IP))
    mia.get("/admin/users/nobody-here/ips.json", **at(MIA_IP))
    mia.get("/admin/posts/987654/ip.json", **at(MIA_IP))
    alice.get("/admin/ip-lookup.json?q=203.0.113.5")
    alice.get(f"/admin/posts/{desk['reply']}/ip.json")
    app.test_client().get("/admin/users/bob/ips.json")
    mia.put(
        f"/admin/users/{users['bob']}/suspend.json",
        data={"suspend_until": "2001-01-01", "reason": "late"},
    )
    mia.put(f"/admin/users/{users['ada']}/suspend.json", data={"suspend_until": "2031-01-01"})
    mia.post("/admin/screened-ips.json", data={"ip_address": "198.51.100.0/24", "reason": "x"})
    ada.post("/admin/screened-ips.json", data={"ip_address": "garbage", "reason": "x"})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["forum", "grant-role", "bob", "member"]).exit_code == 0  # no change
    assert runner.invoke(args=["forum", "grant-role", "nobody", "admin"]).exit_code != 0
    assert entry_count(app) == 0


def test_each_look_is_logged_every_time(app, users, desk, mia):
    for _ in range(3):
        ok(mia.get("/admin/ip-lookup.json?q=203.0.113.5", **at(MIA_IP)))
    assert entry_count(app) == 3


def test_the_actor_ip_comes_from_the_one_client_ip_function(app, users, desk, make_app):
    # Behind a trusted proxy, the actor's address is the forwarded one, not the proxy's.
    proxied = make_app(TRUSTED_PROXIES="10.0.0.0/8")
    with proxied.app_context():
        mia = db.session.get(User, users["mia"])
        session_id = mia.get_id()
    client = proxied.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = session_id
        sess["_fresh"] = True
    response = client.get(
        "/admin/users/alice/ips.json",
        environ_base={"REMOTE_ADDR": "10.1.1.1"},
        headers={"X-Forwarded-For": "198.51.100.42"},
    )
    assert response.status_code == 200
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry))
        assert str(entry.actor_ip) == "198.51.100.42"
    with proxied.app_context():
        db.session.remove()
        db.engine.dispose()


# --- reading it: filters, pages, CSV --------------------------------------------------------


@pytest.fixture
def history(app, users, desk, mia, ada):
    """Five entries an hour apart: mia looks at alice, mia looks up a range, ada suspends bob,
    ada looks at bob, mia hides bob's reply."""
    ok(mia.get("/admin/users/alice/ips.json", **at(MIA_IP)))
    ok(mia.get("/admin/ip-lookup.json?q=203.0.113.0/24", **at(MIA_IP)))
    data = {"suspend_until": "2031-01-02T03:04:00Z", "reason": "Spam"}
    ok(ada.put(f"/admin/users/{users['bob']}/suspend.json", data=data, **at(ADA_IP)))
    ok(ada.get("/admin/users/bob/ips.json", **at(ADA_IP)))
    ok(mia.put(f"/admin/posts/{desk['reply']}/hide.json", **at(MIA_IP)))
    with app.app_context():
        ids = list(db.session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))
        assert len(ids) == 5
        for i, entry_id in enumerate(ids):
            db.session.execute(
                update(AuditEntry)
                .where(AuditEntry.id == entry_id)
                .values(created_at=T0 + timedelta(hours=i))
            )
        db.session.commit()
    return ids


def actions(log: dict[str, Any]) -> list[str]:
    return [e["action"] for e in log["entries"]]


def test_newest_first_unfiltered(history, ada):
    log = read_log(ada)
    assert [e["id"] for e in log["entries"]] == history[::-1]
    assert actions(log) == ["hide_post", "user_ips", "suspend", "ip_lookup", "user_ips"]
    assert log["page"] == 0 and log["more"] is False
    assert log["entries"][0]["created_at"] == "2024-05-01T16:00:00.000Z"


def test_filter_by_actor(history, ada):
    assert actions(read_log(ada, actor="mia")) == ["hide_post", "ip_lookup", "user_ips"]
    assert actions(read_log(ada, actor="MIA")) == ["hide_post", "ip_lookup", "user_ips"]
    assert actions(read_log(ada, actor="ada")) == ["user_ips", "suspend"]
    assert read_log(ada, actor="nobody-here")["entries"] == []


def test_filter_by_subject(history, ada):
    log = read_log(ada, subject="bob")
    assert actions(log) == ["hide_post", "user_ips", "suspend"]
    assert {e["subject_user"] for e in log["entries"]} == {"bob"}
    assert actions(read_log(ada, subject="alice")) == ["user_ips"]
    assert read_log(ada, subject="carol")["entries"] == []


def test_filter_by_action(history, ada):
    assert [e["actor"] for e in read_log(ada, action="user_ips")["entries"]] == ["ada", "mia"]
    (entry,) = read_log(ada, action="suspend")["entries"]
    assert entry["details"] == {"until": "2031-01-02T03:04:00.000Z", "reason": "Spam"}
    assert entry["actor_ip"] == ADA_IP
    assert read_log(ada, action="grant_role")["entries"] == []


def test_filter_by_time(history, ada):
    t2 = T0 + timedelta(hours=2)
    assert actions(read_log(ada, since="2024-05-01T14:00:00Z")) == [
        "hide_post",
        "user_ips",
        "suspend",
    ]
    assert actions(read_log(ada, until="2024-05-01T14:00:00Z")) == ["ip_lookup", "user_ips"]
    between = read_log(ada, since="2024-05-01T13:00:00Z", until="2024-05-01T15:00:00Z")
    assert actions(between) == ["suspend", "ip_lookup"]
    # The same instant written with an offset, or without a zone (UTC), means the same.
    plus_two = t2.astimezone(timezone(timedelta(hours=2))).isoformat()
    assert actions(read_log(ada, since=plus_two)) == ["hide_post", "user_ips", "suspend"]
    assert actions(read_log(ada, since="2024-05-01T14:00:00")) == [
        "hide_post",
        "user_ips",
        "suspend",
    ]
    assert actions(read_log(ada, since="2024-05-02")) == []


def test_filters_combine(history, ada):
    assert actions(read_log(ada, actor="mia", subject="bob")) == ["hide_post"]
    assert actions(read_log(ada, actor="mia", action="user_ips")) == ["user_ips"]
    assert actions(read_log(ada, actor="ada", since="2024-05-01T14:30:00Z")) == ["user_ips"]


@pytest.mark.parametrize(
    "filters",
    [{"action": "launch_missiles"}, {"since": "yesterday"}, {"until": "2024-13-01"}],
)
def test_a_bad_filter_is_a_422(history, ada, filters):
    refused(ada.get("/admin/audit-log.json", query_string=filters), 422)


def test_pages_of_entries(app, users, ada):
    with app.app_context():
        actor = db.session.get(User, users["ada"])
        for i in range(PAGE_SIZE + 5):
            entry = audit.record(actor, "ip_lookup", query=f"10.0.{i // 256}.{i % 256}/32")
            entry.created_at = T0 + timedelta(minutes=i)
        db.session.commit()
    first = read_log(ada)
    assert len(first["entries"]) == PAGE_SIZE and first["more"] is True
    assert first["entries"][0]["details"]["query"] == f"10.0.0.{PAGE_SIZE + 4}/32"
    second = read_log(ada, page=1)
    assert len(second["entries"]) == 5 and second["more"] is False and second["page"] == 1
    assert second["entries"][-1]["details"]["query"] == "10.0.0.0/32"
    seen = [e["id"] for e in first["entries"] + second["entries"]]
    assert len(set(seen)) == PAGE_SIZE + 5
    assert read_log(ada, page=2)["entries"] == []
    refused(ada.get("/admin/audit-log.json?page=x"), 422)


def test_the_log_as_csv(history, ada):
    log = read_log(ada)
    response = ada.get("/admin/audit-log.csv")
    assert response.status_code == 200
    assert response.content_type.startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == [
        "id",
        "created_at",
        "actor",
        "actor_ip",
        "action",
        "subject_user",
        "subject_type",
        "subject_id",
        "details",
    ]
    assert [int(r[0]) for r in rows[1:]] == [e["id"] for e in log["entries"]]
    by_action = {r[4]: r for r in rows[1:]}
    suspend = by_action["suspend"]
    assert suspend[2:4] == ["ada", ADA_IP] and suspend[5] == "bob"
    assert "Spam" in suspend[8]
    filtered = ada.get("/admin/audit-log.csv?actor=mia&action=hide_post")
    assert len(list(csv.reader(io.StringIO(filtered.get_data(as_text=True))))) == 2


# --- who may read it; nobody may change it ---------------------------------------------------


def test_moderators_members_and_visitors_cannot_read_it(app, history, alice, mia):
    for who in (mia, alice, app.test_client()):
        for url in (
            "/admin/audit-log.json",
            "/admin/audit-log.csv",
            "/admin/audit-log.json?actor=mia",
        ):
            response = who.get(url)
            assert response.status_code == 403, (url, response.get_data(as_text=True))
            assert "ip_lookup" not in response.get_data(as_text=True)


def test_no_route_changes_or_deletes_entries(app):
    rules = [r for r in app.url_map.iter_rules() if "audit" in r.rule]
    assert rules, "the audit log has no route at all"
    for rule in rules:
        assert rule.rule.startswith("/admin/audit-log"), rule.rule
        assert not (rule.methods or set()) & {"PUT", "POST", "DELETE", "PATCH"}, rule


@pytest.mark.parametrize("method", ["put", "post", "delete", "patch"])
def test_writing_to_the_log_is_refused_and_changes_nothing(app, history, ada, method):
    before = read_log(ada)
    for url in ("/admin/audit-log.json", f"/admin/audit-log.json?id={history[0]}"):
        response = getattr(ada.client, method)(
            url, headers={"X-CSRF-Token": ada.csrf}, json={"id": history[0]}
        )
        assert response.status_code == 405, response.get_data(as_text=True)
    assert read_log(ada) == before


# --- after an erasure -------------------------------------------------------------------------


def test_after_erasure_entries_keep_the_actions_but_no_personal_data(app, users, desk, mia, ada):
    reason = "Spam sent from bob's kitchen"
    data = {"suspend_until": "2031-01-02T03:04:00Z", "reason": reason}
    ok(mia.put(f"/admin/users/{users['bob']}/suspend.json", data=data, **at(MIA_IP)))
    ok(mia.get("/admin/users/bob/ips.json", **at(MIA_IP)))
    ok(mia.get(f"/admin/posts/{desk['reply']}/ip.json", **at(MIA_IP)))
    ok(ada.put(f"/admin/posts/{desk['first']}/hide.json", **at(ADA_IP)))  # about alice
    before = read_log(ada)
    assert "bob" in str(before) and reason in str(before)

    runner = app.test_cli_runner()
    result = runner.invoke(args=["forum", "erase", "bob", "--yes"])
    assert result.exit_code == 0, result.output
    after = read_log(ada)
    assert actions(after) == actions(before)  # that the actions happened is kept
    for entry in after["entries"][1:]:  # the three about bob
        assert entry["subject_user"] is None and entry["details"] == {}
        assert entry["actor"] == "mia" and entry["actor_ip"] == MIA_IP
    assert after["entries"][0]["subject_user"] == "alice"  # others' entries are untouched
    text = str(after) + ada.get("/admin/audit-log.csv").get_data(as_text=True)
    assert "bob" not in text.lower() and reason not in text
    assert read_log(ada, subject="bob")["entries"] == []

    # The actor erased: the entries stay, without her name or her address.
    result = runner.invoke(args=["forum", "erase", "mia", "--yes"])
    assert result.exit_code == 0, result.output
    final = read_log(ada)
    assert actions(final) == actions(before)
    assert [e["actor"] for e in final["entries"]] == ["ada", None, None, None]
    assert all(e["actor_ip"] is None for e in final["entries"][1:])
    assert MIA_IP not in str(final) + ada.get("/admin/audit-log.csv").get_data(as_text=True)
