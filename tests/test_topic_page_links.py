"""The topic page builds its per-post links from patterns made once per page (issue 10):
they must be the very URLs `url_for` gives, for plain and unusual usernames alike."""

from __future__ import annotations

import ipaddress
import re

from conftest import make_user
from flask import Flask, url_for

from forum.content import posting
from forum.db import db
from forum.users.models import User

IP = ipaddress.ip_address("192.0.2.7")
BODY = "A post that is long enough to be accepted."


def test_topic_page_links_match_url_for(
    app: Flask, users: dict[str, int], category_id: int
) -> None:
    with app.app_context():
        odd = make_user("odd name/ü")  # needs quoting: takes url_for's own path
        alice = db.session.get(User, users["alice"])
        assert alice is not None
        first = posting.create_topic(alice, "Links on a topic page", BODY, category_id, IP)
        posting.create_reply(odd, first.topic_id, BODY, IP)
        topic_id, slug = first.topic_id, first.topic.slug
        db.session.commit()
    page = app.test_client().get(f"/t/{slug}/{topic_id}").text
    with app.test_request_context():
        expected = {
            url_for("web.user_profile", username="alice"),
            url_for("web.user_profile", username="odd name/ü"),
            url_for("web.topic_post", slug=slug, topic_id=topic_id, post_number=1),
            url_for("web.topic_post", slug=slug, topic_id=topic_id, post_number=2),
        }
    found = set(re.findall(r'class="(?:username|permalink)"[^>]*?href="([^"]*)"', page))
    found |= set(re.findall(r'href="([^"]*)"[^>]*class="(?:username|permalink)"', page))
    assert expected <= {h.replace("&amp;", "&") for h in found}, found
