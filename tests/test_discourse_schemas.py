"""Every answer of Parlor's Discourse routes validates against Discourse's own response
schema (`../shared/discourse-api/openapi.json`, issue 7 §2).

The schemas are Discourse's, with three changes written down here:

- `additionalProperties` is allowed everywhere: Parlor may send fields of its own.
- Discourse's `required` lists are replaced by CORE below: what Parlor always sends, route
  by route. A core field must be one Discourse's schema names there (else the test fails).
- ERRATA widens a few types where Discourse's description contradicts what Discourse
  itself sends (its schemas are generated from example answers, so a field that was null
  in the example is typed `string|null` even where Discourse sends an integer).

Routes with no schema of their own use their Discourse twin's (TWINS). Errors are checked
for Discourse's shape, status and `error_type`, and every answer for the content type.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from helpers import JSON_TYPE
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from forum.api import openapi_paths
from forum.content import likes
from forum.content.models import Post
from forum.db import db
from forum.users.models import User

# A copy of ../shared/discourse-api/openapi.json (MIT, LICENSE.txt beside it), so the suite
# runs in a clone on its own; test_the_copy_is_current checks it against shared/ when present.
OPENAPI = Path(__file__).resolve().parent / "data" / "discourse-api" / "openapi.json"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "discourse-api" / "openapi.json"
DOC_URI = "urn:discourse:openapi"

# route (method and Parlor's path) -> Discourse's path and method whose schema it answers with
TWINS: dict[str, tuple[str, str]] = {
    "GET /latest.json": ("/latest.json", "get"),
    "GET /categories.json": ("/categories.json", "get"),
    "GET /c/{slug}/{id}.json": ("/c/{slug}/{id}.json", "get"),
    "GET /c/{id}.json": ("/c/{slug}/{id}.json", "get"),
    "GET /t/{id}.json": ("/t/{id}.json", "get"),
    "GET /t/{slug}/{id}.json": ("/t/{id}.json", "get"),
    "GET /t/{id}/posts.json": ("/t/{id}/posts.json", "get"),
    "GET /posts.json": ("/posts.json", "get"),
    "GET /posts/{id}.json": ("/posts/{id}.json", "get"),
    "GET /search.json": ("/search.json", "get"),
    "GET /u/{username}.json": ("/u/{username}.json", "get"),
    "GET /users/{username}.json": ("/u/{username}.json", "get"),
    "POST /posts.json": ("/posts.json", "post"),
    "PUT /posts/{id}.json": ("/posts/{id}.json", "put"),
    "POST /post_actions.json": ("/post_actions.json", "post"),
    "POST /categories.json": ("/categories.json", "post"),
    "PUT /categories/{id}.json": ("/categories/{id}.json", "put"),
}


def under(prefix: str, fields: list[str]) -> list[str]:
    return [prefix] + [f"{prefix}.{field}" for field in fields]


# What Parlor always sends, as paths into the answer: `a.b` is field b of object a,
# `a[]` each item of array a. Replaces Discourse's `required` lists.
USER_CARD = ["id", "username", "avatar_template"]
TOPIC_ITEM = [
    "id",
    "title",
    "fancy_title",
    "slug",
    "posts_count",
    "reply_count",
    "highest_post_number",
    "created_at",
    "last_posted_at",
    "bumped_at",
    "views",
    "like_count",
    "category_id",
    "last_poster_username",
    "closed",
    "posters",
]
POST = [
    "id",
    "name",
    "username",
    "avatar_template",
    "created_at",
    "updated_at",
    "cooked",
    "post_number",
    "post_type",
    "reply_count",
    "quote_count",
    "reads",
    "topic_id",
    "topic_slug",
    "user_id",
    "version",
    "yours",
    "can_edit",
    "can_delete",
    "actions_summary",
]
CATEGORY = [
    "id",
    "name",
    "slug",
    "color",
    "text_color",
    "description",
    "topic_count",
    "post_count",
    "position",
]
TOPIC_LIST = [
    *under("users[]", USER_CARD),
    *under("topic_list", ["can_create_topic", "per_page"]),
    *under("topic_list.topics[]", TOPIC_ITEM),
]
TOPIC = [
    *under("post_stream", ["stream"]),
    *under("post_stream.posts[]", POST),
    "id",
    "title",
    "fancy_title",
    "slug",
    "posts_count",
    "reply_count",
    "like_count",
    "views",
    "created_at",
    "last_posted_at",
    "category_id",
    "user_id",
    "highest_post_number",
    "chunk_size",
    "participant_count",
    *under("details.created_by", USER_CARD),
    *under("details.last_poster", USER_CARD),
]
CORE: dict[str, list[str]] = {
    "GET /latest.json": TOPIC_LIST,
    "GET /categories.json": [
        *under("category_list", ["can_create_category", "can_create_topic"]),
        *under("category_list.categories[]", CATEGORY),
    ],
    "GET /c/{slug}/{id}.json": TOPIC_LIST,
    "GET /c/{id}.json": TOPIC_LIST,
    "GET /t/{id}.json": TOPIC,
    "GET /t/{slug}/{id}.json": TOPIC,
    "GET /t/{id}/posts.json": [*under("post_stream.posts[]", POST), "id"],
    "GET /posts.json": under("latest_posts[]", [*POST, "raw", "posts_count", "topic_title"]),
    "GET /posts/{id}.json": [*POST, "raw", "posts_count"],
    "GET /search.json": [
        "posts",
        "users",
        "categories",
        *under("grouped_search_result", ["term", "post_ids", "user_ids", "can_create_topic"]),
    ],
    "GET /u/{username}.json": [
        "user_badges",
        *under(
            "user",
            [
                *USER_CARD,
                "name",
                "created_at",
                "last_posted_at",
                "trust_level",
                "moderator",
                "admin",
                "post_count",
                "topic_count",
                "badge_count",
            ],
        ),
    ],
    "POST /posts.json": [*POST, "raw", "posts_count"],
    "PUT /posts/{id}.json": under("post", [*POST, "raw", "posts_count"]),
    "POST /post_actions.json": [
        *POST,
        "posts_count",
        *under("actions_summary[]", ["id", "count", "acted", "can_act", "can_undo"]),
    ],
    "POST /categories.json": under("category", CATEGORY),
    "PUT /categories/{id}.json": ["success", *under("category", CATEGORY)],
}
CORE["GET /users/{username}.json"] = CORE["GET /u/{username}.json"]

# Where Discourse's description contradicts what Discourse sends: the one list, shared with
# Parlor's own /openapi.json (forum/api/openapi_paths.py says why for each field).
ERRATA = openapi_paths.ERRATA


# --- Discourse's document, prepared -------------------------------------------------------


@pytest.fixture(scope="module")
def discourse() -> dict[str, Any]:
    if not OPENAPI.is_file():
        pytest.fail(
            f"Discourse's API description is missing: expected {OPENAPI}",
            pytrace=False,
        )
    return json.loads(OPENAPI.read_text(encoding="utf-8"))


def relax(node: Any) -> Any:
    """Discourse's schema, minus `required` lists and closed objects; `nullable` (OpenAPI
    3.0) as a type list; `$ref`s made absolute into the document."""
    if isinstance(node, list):
        return [relax(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "required" and isinstance(value, list):
            continue
        if key in ("additionalProperties", "unevaluatedProperties") and value is False:
            continue
        if key == "$ref" and isinstance(value, str) and value.startswith("#"):
            out[key] = DOC_URI + value
            continue
        out[key] = relax(value)
    if out.get("nullable") is True:
        types = out.get("type")
        types = [types] if isinstance(types, str) else list(types or [])
        if types and "null" not in types:
            out["type"] = [*types, "null"]
    for name, schema in out.get("properties", {}).items():
        if name in ERRATA and isinstance(schema, dict) and "type" in schema:
            types = schema["type"]
            types = [types] if isinstance(types, str) else list(types)
            schema["type"] = types + [t for t in ERRATA[name][0] if t not in types]
    return out


def _deref(node: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    """Follow a `$ref` in place, so a core field can be required inside what it names."""
    while isinstance(node.get("$ref"), str) and node["$ref"].startswith(DOC_URI + "#/"):
        target: Any = document
        for part in node.pop("$ref")[len(DOC_URI) + 2 :].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        for key, value in copy.deepcopy(target).items():
            node.setdefault(key, value)
    return node


def require(schema: dict[str, Any], path: str, document: dict[str, Any]) -> None:
    node = _deref(schema, document)
    for part in path.split("."):
        name = part.removesuffix("[]")
        properties = node.get("properties", {})
        if name not in properties:
            raise LookupError(f"core field {path!r}: Discourse's schema has no {name!r} there")
        if name not in node.setdefault("required", []):
            node["required"].append(name)
        node = _deref(properties[name], document)
        if part.endswith("[]"):
            if not isinstance(node.get("items"), dict):
                raise LookupError(f"core field {path!r}: {name!r} is not an array of objects")
            node = _deref(node["items"], document)


@pytest.fixture(scope="module")
def validators(discourse: dict[str, Any]) -> dict[str, Draft202012Validator]:
    document = relax(discourse)
    registry = Registry().with_resource(
        DOC_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    made = {}
    for route, (path, method) in TWINS.items():
        operation = document["paths"][path][method]
        schema = copy.deepcopy(operation["responses"]["200"]["content"]["application/json"])
        schema = schema["schema"]  # a copy of its own: the core is added to it
        for field in CORE[route]:
            require(schema, field, document)
        Draft202012Validator.check_schema(schema)
        made[route] = Draft202012Validator(schema, registry=registry)
    return made


Check = Callable[..., Any]


@pytest.fixture
def check(validators: dict[str, Draft202012Validator]) -> Check:
    """check(route, response): 200, the exact JSON content type, and Discourse's schema."""

    def checker(route: str, response: Any) -> Any:
        body = response.get_data(as_text=True)
        assert response.status_code == 200, (route, body[:500])
        assert response.headers["Content-Type"] == JSON_TYPE, route
        data = response.get_json()
        errors = sorted(validators[route].iter_errors(data), key=lambda e: list(e.path))
        assert not errors, f"{route} does not match Discourse's schema:\n" + "\n".join(
            f"  at {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in errors[:20]
        )
        return data

    return checker


# --- The forum they are read from ---------------------------------------------------------


@pytest.fixture
def forum(app: Flask, users: dict[str, int], member, category_id: int) -> dict[str, Any]:
    """A topic by alice, a reply by bob to its first post, a like, a second topic."""
    alice, bob = member(users["alice"]), member(users["bob"])
    first = alice.post(
        "/posts.json",
        json={
            "title": "Growing tomatoes on a balcony",
            "raw": "Tomatoes want **sun**, water and patience.",
            "category": category_id,
        },
    ).get_json()
    reply = bob.post(
        "/posts.json",
        json={
            "topic_id": first["topic_id"],
            "raw": "Mine grew in buckets of tomatoes compost.",
            "reply_to_post_number": 1,
        },
    ).get_json()
    assert reply["reply_to_post_number"] == 1
    other = bob.post(
        "/posts.json",
        json={
            "title": "Bees in the garden",
            "raw": "Bees like lavender and thyme.",
            "category": category_id,
        },
    ).get_json()
    with app.app_context():
        liker = db.session.get(User, users["bob"])
        likes.like(liker, db.session.get(Post, first["id"]))
        db.session.commit()
    return {
        "category_id": category_id,
        "topic_id": first["topic_id"],
        "slug": first["topic_slug"],
        "first_id": first["id"],
        "reply_id": reply["id"],
        "other_topic_id": other["topic_id"],
    }


VIEWERS = ["visitor", "alice", "mia", "ada"]


@pytest.fixture(params=VIEWERS)
def viewer(request, client, users, member) -> Any:
    return client if request.param == "visitor" else member(users[request.param])


# --- Reads, signed out and signed in ------------------------------------------------------


def test_reads_match_discourse_schemas(viewer, forum, check):
    f = forum
    topic_list = check("GET /latest.json", viewer.get("/latest.json"))
    assert {t["id"] for t in topic_list["topic_list"]["topics"]} == {
        f["topic_id"],
        f["other_topic_id"],
    }
    categories = check("GET /categories.json", viewer.get("/categories.json"))
    assert categories["category_list"]["categories"][0]["id"] == f["category_id"]
    slug = categories["category_list"]["categories"][0]["slug"]
    for route, path in (
        ("GET /c/{slug}/{id}.json", f"/c/{slug}/{f['category_id']}.json"),
        ("GET /c/{id}.json", f"/c/{f['category_id']}.json"),
    ):
        assert len(check(route, viewer.get(path))["topic_list"]["topics"]) == 2

    for route, path in (
        ("GET /t/{id}.json", f"/t/{f['topic_id']}.json"),
        ("GET /t/{slug}/{id}.json", f"/t/{f['slug']}/{f['topic_id']}.json"),
    ):
        topic = check(route, viewer.get(path))
        assert topic["post_stream"]["stream"] == [f["first_id"], f["reply_id"]]
        assert topic["title"] == "Growing tomatoes on a balcony"

    ids = f"post_ids[]={f['first_id']}&post_ids[]={f['reply_id']}"
    chunk = check("GET /t/{id}/posts.json", viewer.get(f"/t/{f['topic_id']}/posts.json?{ids}"))
    assert [p["post_number"] for p in chunk["post_stream"]["posts"]] == [1, 2]
    first = check("GET /t/{id}/posts.json", viewer.get(f"/t/{f['topic_id']}/posts.json"))
    assert first["post_stream"]["posts"] == chunk["post_stream"]["posts"]

    latest = check("GET /posts.json", viewer.get("/posts.json"))["latest_posts"]
    assert latest[0]["topic_title"] == "Bees in the garden"
    post = check("GET /posts/{id}.json", viewer.get(f"/posts/{f['first_id']}.json"))
    assert post["raw"] == "Tomatoes want **sun**, water and patience."
    found = check("GET /search.json", viewer.get("/search.json?q=tomatoes"))
    assert set(found["grouped_search_result"]["post_ids"]) == {f["first_id"], f["reply_id"]}

    for route in ("GET /u/{username}.json", "GET /users/{username}.json"):
        path = route.split(" ")[1].replace("{username}", "alice")
        user = check(route, viewer.get(path))["user"]
        assert (user["username"], user["post_count"], user["topic_count"]) == ("alice", 1, 1)


def test_search_that_finds_users_and_nothing(client, forum, check):
    found = check("GET /search.json", client.get("/search.json?q=alice"))
    assert [u["username"] for u in found["users"]] == ["alice"]
    empty = check("GET /search.json", client.get("/search.json?q=zucchini"))
    assert empty["posts"] == [] and empty["grouped_search_result"]["term"] == "zucchini"


def test_long_lists_keep_the_shapes(app, users, member, category_id, check):
    """A second page of topics (more_topics_url), and more search results than a page."""
    alice = member(users["alice"])
    for n in range(31):
        r = alice.post(
            "/posts.json",
            json={
                "title": f"Pumpkin diary, week {n:02d}",
                "raw": f"Pumpkins grew again in week {n}.",
                "category": category_id,
            },
        )
        assert r.status_code == 200, r.get_json()
    topic_id = r.get_json()["topic_id"]
    for n in range(20):
        alice.post(
            "/posts.json", json={"topic_id": topic_id, "raw": f"More pumpkins again on day {n}."}
        )
    first = check("GET /latest.json", alice.get("/latest.json"))["topic_list"]
    assert len(first["topics"]) == 30 and first["more_topics_url"]
    rest = check(
        "GET /latest.json",
        alice.get(first["more_topics_url"], headers={"Accept": "application/json"}),
    )
    assert len(rest["topic_list"]["topics"]) == 1
    category = check("GET /c/{id}.json", alice.get(f"/c/{category_id}.json?page=1"))
    assert len(category["topic_list"]["topics"]) == 1
    found = check("GET /search.json", alice.get("/search.json?q=pumpkin"))
    assert len(found["posts"]) == 50 and found["grouped_search_result"]["more_posts"]
    found = check("GET /search.json", alice.get("/search.json?q=pumpkin&page=2"))
    assert len(found["posts"]) == 1


def test_deleted_posts_keep_the_shapes(app, users, member, forum, check):
    """Staff see a deleted reply (with its deleted_at); the others no longer do."""
    mia = member(users["mia"])
    assert mia.delete(f"/posts/{forum['reply_id']}.json").status_code == 200
    topic = check("GET /t/{id}.json", mia.get(f"/t/{forum['topic_id']}.json"))
    deleted = topic["post_stream"]["posts"][1]
    assert deleted["id"] == forum["reply_id"] and deleted["deleted_at"]
    member_view = check(
        "GET /t/{id}.json", member(users["alice"]).get(f"/t/{forum['topic_id']}.json")
    )
    assert member_view["post_stream"]["stream"] == [forum["first_id"]]


# --- Writes ---------------------------------------------------------------------------------


def test_writes_match_discourse_schemas(users, member, forum, check):
    alice, bob, ada = member(users["alice"]), member(users["bob"]), member(users["ada"])
    topic = check(
        "POST /posts.json",
        alice.post(
            "/posts.json",
            json={
                "title": "Watering in a heat wave",
                "raw": "Twice a day, early and late.",
                "category": forum["category_id"],
            },
        ),
    )
    assert (topic["post_number"], topic["raw"], topic["username"]) == (
        1,
        "Twice a day, early and late.",
        "alice",
    )
    reply = check(
        "POST /posts.json",
        bob.post(  # as Discourse clients send it: a form, to the path without .json
            "/posts",
            headers={"Accept": "application/json"},
            data={"topic_id": topic["topic_id"], "raw": "Mulch helps it keep longer."},
        ),
    )
    assert (reply["post_number"], reply["topic_id"]) == (2, topic["topic_id"])

    edited = check(
        "PUT /posts/{id}.json",
        bob.put(
            f"/posts/{reply['id']}.json",
            data={"post[raw]": "Mulch helps the soil keep water.", "post[edit_reason]": "typo"},
        ),
    )["post"]
    assert (edited["version"], edited["raw"]) == (2, "Mulch helps the soil keep water.")

    liked = check(
        "POST /post_actions.json",
        alice.post("/post_actions.json", data={"id": reply["id"], "post_action_type_id": 2}),
    )
    assert liked["actions_summary"][0] == {
        "id": 2,
        "count": 1,
        "acted": True,
        "can_act": False,
        "can_undo": True,
    }

    made = check(
        "POST /categories.json",
        ada.post("/categories.json", data={"name": "Orchard", "color": "49d9e9"}),
    )["category"]
    assert (made["name"], made["color"]) == ("Orchard", "49D9E9")
    updated = check(
        "PUT /categories/{id}.json",
        ada.put(
            f"/categories/{made['id']}.json",
            json={"name": "Orchard and vines", "description": "Fruit that grows on wood."},
        ),
    )
    assert updated["success"] == "OK"
    assert updated["category"]["description"] == "Fruit that grows on wood."


def test_every_route_has_its_twin_and_core(discourse):
    assert set(CORE) == set(TWINS)
    for route, (path, method) in TWINS.items():
        responses = discourse["paths"][path][method]["responses"]
        assert "application/json" in responses["200"]["content"], route


def test_the_check_catches_wrong_types_and_missing_core_fields(validators, forum, client):
    """The relaxed schemas still bite: a wrong type, a missing core field, a wrong item."""
    good = client.get(f"/posts/{forum['first_id']}.json").get_json()
    validator = validators["GET /posts/{id}.json"]
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "post_number": "1"})
    assert not validator.is_valid({k: v for k, v in good.items() if k != "cooked"})
    assert validator.is_valid({**good, "parlor_only": [1, 2]})  # Parlor's own fields
    topic = client.get(f"/t/{forum['topic_id']}.json").get_json()
    broken = copy.deepcopy(topic)
    broken["post_stream"]["stream"] = None
    assert not validators["GET /t/{id}.json"].is_valid(broken)
    broken = copy.deepcopy(topic)
    del broken["post_stream"]["posts"][1]["avatar_template"]
    assert not validators["GET /t/{id}.json"].is_valid(broken)


# --- Errors ---------------------------------------------------------------------------------

ERROR = {
    "type": "object",
    "required": ["errors", "error_type"],
    "properties": {
        "errors": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
        "error_type": {"type": "string"},
        "extras": {"type": "object"},
    },
}


def error_of(response: Any, status: int, error_type: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Type"] == JSON_TYPE
    data = response.get_json()
    Draft202012Validator(ERROR).validate(data)
    assert data["error_type"] == error_type, data
    return data


def test_errors_in_discourse_shape(client, users, member, forum):
    alice = member(users["alice"])
    for path in (
        "/t/999999.json",
        "/t/some-slug/999999.json",
        "/t/999999/posts.json?post_ids[]=1",
        "/posts/999999.json",
        "/c/999999.json",
        "/c/no-such/999999.json",
        "/u/nobody-here.json",
        "/users/nobody-here.json",
    ):
        error_of(client.get(path), 404, "not_found")
    error_of(alice.put("/categories/999999.json", json={"name": "X"}), 403, "invalid_access")
    error_of(
        member(users["ada"]).put("/categories/999999.json", json={"name": "Nowhere"}),
        404,
        "not_found",
    )

    # Signed out, writing: 403 not_logged_in (as Discourse answers).
    error_of(
        client.post("/posts.json", json={"topic_id": forum["topic_id"], "raw": "x" * 30}),
        403,
        "not_logged_in",
    )
    error_of(
        client.put(f"/posts/{forum['first_id']}.json", data={"post[raw]": "y" * 30}),
        403,
        "not_logged_in",
    )
    error_of(
        client.post("/post_actions.json", data={"id": forum["first_id"], "post_action_type_id": 2}),
        403,
        "not_logged_in",
    )
    error_of(client.post("/categories.json", data={"name": "Nope"}), 403, "not_logged_in")

    # Signed in without the right: 403 invalid_access.
    error_of(
        alice.put(f"/posts/{forum['reply_id']}.json", data={"post[raw]": "Not alice's to edit."}),
        403,
        "invalid_access",
    )
    error_of(alice.post("/categories.json", data={"name": "Members cannot"}), 403, "invalid_access")

    # Wrong or missing parameters: 422 invalid_parameters.
    for response in (
        alice.post("/posts.json", json={"topic_id": forum["topic_id"]}),
        alice.post("/posts.json", json={"title": "No category given here", "raw": "Some text."}),
        alice.post("/posts.json", json={"topic_id": "abc", "raw": "A reply of some length."}),
        alice.post("/post_actions.json", data={"id": forum["reply_id"], "post_action_type_id": 9}),
        client.get(f"/t/{forum['topic_id']}/posts.json?post_ids[]=abc"),
        client.get("/posts.json?before=abc"),
        member(users["ada"]).post("/categories.json", data={"name": "Bad", "color": "red"}),
    ):
        error_of(response, 422, "invalid_parameters")


def test_rate_limited_export_says_when_to_retry(users, member):
    alice = member(users["alice"])
    first = alice.get("/u/alice/export.zip")
    assert first.status_code == 200
    again = alice.get("/u/alice/export.zip")
    data = error_of(again, 429, "rate_limit")
    wait = int(again.headers["Retry-After"])
    assert wait > 0
    assert "extras" in data, "429 lacks extras.wait_seconds, which Discourse clients read"
    assert data["extras"]["wait_seconds"] == wait


@pytest.mark.skipif(not SHARED.is_file(), reason="no ../shared/discourse-api beside the clone")
def test_the_copy_is_current():
    assert OPENAPI.read_bytes() == SHARED.read_bytes()
