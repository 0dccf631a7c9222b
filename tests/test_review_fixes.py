"""Regression tests for defects a review found: each failed before its fix."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta

from sqlalchemy import select

from forum.content.models import Topic
from forum.db import db
from forum.privacy.backups import reapply_ledger
from forum.timeutil import iso, utcnow
from forum.users.models import User

BODY = "A body that is long enough to post."


def new_topic(client, category_id, title="A topic for the regression tests"):
    r = client.post("/posts.json", json={"title": title, "raw": BODY, "category": category_id})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_a_restore_erases_an_admin_who_was_the_last_one_in_the_backup(app, users, ledger_file):
    """The erasure happened (another admin existed then); the restored database has her as
    its only admin, and re-applying the ledger must erase her all the same."""
    with app.app_context():
        db.session.get(User, users["ada"]).role = "admin"
        for user in db.session.scalars(select(User).where(User.id != users["ada"])):
            user.role = "member"
        db.session.commit()
        taken = utcnow() - timedelta(seconds=5)
        with open(ledger_file, "a") as f:
            f.write(json.dumps({"at": iso(utcnow()), "kind": "erased", "user_id": users["ada"]}))
            f.write("\n")
        reapply_ledger(since=taken)
        assert db.session.get(User, users["ada"]) is None


def test_replies_of_a_deleted_topic_are_gone_for_members(app, users, member, client, category_id):
    alice, bob, mia = member(users["alice"]), member(users["bob"]), member(users["mia"])
    first = new_topic(alice, category_id)
    reply = bob.post("/posts.json", json={"topic_id": first["topic_id"], "raw": BODY}).get_json()
    assert alice.delete(f"/posts/{first['id']}.json").status_code == 200
    for who in (client, alice, bob):
        assert who.get(f"/posts/{reply['id']}.json").status_code == 404
    assert bob.put(f"/posts/{reply['id']}.json", json={"raw": BODY + " edited"}).status_code == 404
    assert (
        alice.post("/post_actions.json", json={"id": reply["id"], "post_action_type_id": 2})
    ).status_code == 404
    assert mia.get(f"/posts/{reply['id']}.json").status_code == 200  # staff still see it


def test_unliking_a_deleted_post_leaves_the_topic_count_alone(app, users, member, category_id):
    alice, mia = member(users["alice"]), member(users["mia"])
    first = new_topic(alice, category_id)
    reply = alice.post("/posts.json", json={"topic_id": first["topic_id"], "raw": BODY}).get_json()
    mia.post("/post_actions.json", json={"id": reply["id"], "post_action_type_id": 2})
    assert alice.delete(f"/posts/{reply['id']}.json").status_code == 200
    r = mia.delete(f"/post_actions/{reply['id']}.json?post_action_type_id=2")
    assert r.status_code == 403
    with app.app_context():
        assert db.session.get(Topic, first["topic_id"]).like_count == 0


def test_times_beyond_what_a_datetime_holds_are_refused(app, users, member):
    mia, ada = member(users["mia"]), member(users["ada"])
    far = "9999-12-31T23:00:00-05:00"
    r = mia.put(
        f"/admin/users/{users['bob']}/suspend.json", json={"suspend_until": far, "reason": "spam"}
    )
    assert r.status_code == 422
    assert ada.get(f"/admin/audit-log.json?since={far}").status_code == 422
    assert ada.get("/t/x/99999999999999999999").status_code == 404


def test_export_csv_defuses_formulas_in_titles(app, users, member, category_id):
    alice = member(users["alice"])
    new_topic(alice, category_id, title='=HYPERLINK("http://evil.example","click")')
    data = alice.get("/u/alice/export.zip").data
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        rows = list(csv.DictReader(io.StringIO(z.read("posts.csv").decode())))
        as_json = json.loads(z.read("posts.json"))
    assert rows[0]["topic_title"].startswith("'=HYPERLINK")
    assert as_json[0]["topic_title"].startswith("=HYPERLINK")  # JSON keeps it exact
