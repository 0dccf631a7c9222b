"""`/openapi.json` describes every route the forum registers, and only those (issue 7, §5).

Coverage is checked through Werkzeug's own matching: each documented path, filled with
sample values, must reach a registered rule with that method, and every rule of Parlor's
blueprints must be reached that way. So the check does not trust the module's own
conversion of rules to paths.
"""

from __future__ import annotations

import inspect
import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint, Flask
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect, Rule

from auth.sessions import staff_required
from forum.api import openapi, openapi_paths
from forum.moderation.routes import FORMATS

PARLOR_BLUEPRINTS = ("api", "auth", "web", "avatars")
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
# The repo's copy of ../shared/discourse-api (see tests/test_discourse_schemas.py).
SHARED = Path(__file__).resolve().parent / "data" / "discourse-api"


def parlor_rules(app: Flask) -> list[Rule]:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.partition(".")[0] in PARLOR_BLUEPRINTS
        and not rule.endpoint.endswith(".static")
    ]


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]


def sample_paths(path: str, op: dict[str, Any]) -> list[str]:
    """The path with its parameters filled in, once per allowed value of an enum."""
    choices: dict[str, list[str]] = {}
    for param in op.get("parameters", []):
        if param["in"] != "path":
            continue
        schema = param["schema"]
        if "enum" in schema:
            choices[param["name"]] = [str(v) for v in schema["enum"]]
        elif schema.get("type") == "integer":
            choices[param["name"]] = ["1"]
        elif schema.get("type") == "number":
            choices[param["name"]] = ["1.5"]
        elif schema.get("format") == "uuid":
            choices[param["name"]] = ["12345678-1234-5678-1234-567812345678"]
        else:
            choices[param["name"]] = ["sample"]
    names = re.findall(r"\{([^}]+)\}", path)
    assert set(names) == set(choices), f"{path}: path parameters {names} vs {list(choices)}"
    filled = []
    for values in itertools.product(*(choices[n] for n in names)):
        concrete = path
        for name, value in zip(names, values, strict=True):
            concrete = concrete.replace("{" + name + "}", value)
        filled.append(concrete)
    return filled


def check_matches_app(app: Flask, doc: dict[str, Any], prefix: str = "") -> None:
    """Every documented operation is a registered route, and every Parlor route is there."""
    adapter = app.url_map.bind("localhost")
    reached: set[tuple[str, str]] = set()
    for path, method, op in operations(doc):
        for concrete in sample_paths(path, op):
            try:
                rule, _ = adapter.match(prefix + concrete, method.upper(), return_rule=True)
            except (HTTPException, RequestRedirect) as exc:
                pytest.fail(f"{method.upper()} {path} ({prefix}{concrete}) is not a route: {exc}")
            assert rule.endpoint.partition(".")[0] in PARLOR_BLUEPRINTS, (path, rule.endpoint)
            reached.add((rule.rule, method.upper()))
    expected = {
        (rule.rule, m)
        for rule in parlor_rules(app)
        for m in rule.methods or ()
        if m not in {"HEAD", "OPTIONS"}
    }
    assert expected - reached == set(), "registered but not described"
    assert reached <= expected


def check_structure(doc: dict[str, Any]) -> None:
    """What a validator checks first, kept here so it runs even without one."""
    assert doc["openapi"].startswith("3.1.")
    assert doc["info"]["title"] and doc["info"]["version"]
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    for path, _, op in operations(doc):
        assert path.startswith("/")
        assert op["responses"] and op["summary"] and op["tags"], path
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"\{([^}]+)\}", path)), path
        for requirement in op.get("security", []):
            assert set(requirement) <= set(doc["components"]["securitySchemes"])
    text = json.dumps(doc)
    for target in set(re.findall(r'"\$ref": "#/components/(\w+)/([^"]+)"', text)):
        assert target[1] in doc["components"][target[0]], f"dangling $ref {target}"


@pytest.fixture
def doc(client) -> dict[str, Any]:
    return client.get("/openapi.json").get_json()


def test_served_as_json_and_valid_openapi_3_1(client):
    r = client.get("/openapi.json")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    doc = r.get_json()
    check_structure(doc)
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(doc)


def test_every_route_is_described_and_every_described_route_exists(app, doc):
    check_matches_app(app, doc)
    assert doc["servers"] == [{"url": "/"}]
    described = {path for path, _, _ in operations(doc)}
    assert "/static/{filename}" not in described and "/parlor-static/{filename}" not in described


def test_mounted_under_a_prefix(make_host):
    def things_route(host: Flask) -> None:
        @host.get("/api/things")
        def things() -> dict[str, list[int]]:
            return {"things": [1, 2]}

    host = make_host(things_route)
    r = host.test_client().get("/forum/openapi.json")
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["servers"] == [{"url": "/forum"}]
    assert "/latest.json" in doc["paths"] and "/forum/latest.json" not in doc["paths"]
    assert "/api/things" not in doc["paths"]  # the host's routes are its own
    check_matches_app(host, doc, prefix="/forum")
    check_structure(doc)
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(doc)


def test_new_routes_are_described_without_editing_the_module():
    """Any converter, any decorator: a route added to a Parlor blueprint is described."""
    toy = Flask("toy")
    api = Blueprint("api", __name__)

    @api.get("/things/<any(new,old):age>/<int(signed=True):n>/<float:x>/<uuid:u>.json")
    def things(age: str, n: int, x: float, u: str) -> str:
        """List things.

        More about them."""
        return "ok"

    @api.route("/things/<path:rest>", methods=["PUT", "DELETE"])
    @staff_required
    def change(rest: str) -> str:
        return "ok"

    toy.register_blueprint(api)
    doc = openapi.build_document(toy)
    check_matches_app(toy, doc)
    check_structure(doc)
    path = "/things/{age}/{n}/{x}/{u}.json"
    op = doc["paths"][path]["get"]
    assert (op["summary"], op["description"]) == ("List things.", "More about them.")
    assert [p["schema"] for p in op["parameters"]] == [
        {"type": "string", "enum": ["new", "old"]},
        {"type": "integer"},
        {"type": "number", "minimum": 0},
        {"type": "string", "format": "uuid"},
    ]
    assert {} in op["security"]
    put = doc["paths"]["/things/{rest}"]["put"]
    assert put["operationId"] == "api.change.put" and put["summary"] == "api.change"
    assert put["description"] == "Moderators and admins only." and {} not in put["security"]


def test_path_parameters_follow_the_converters(doc):
    post = doc["paths"]["/posts/{post_id}.json"]["get"]
    assert post["parameters"][0] == {
        "name": "post_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
    fmt = doc["paths"]["/admin/audit-log.{fmt}"]["get"]["parameters"][0]
    assert fmt["schema"] == {"type": "string", "enum": list(FORMATS)}
    user = doc["paths"]["/u/{username}.json"]["get"]["parameters"][0]
    assert user["schema"] == {"type": "string"}


def test_discourse_routes_share_discourse_schemas(doc):
    def answer(path: str, method: str = "get") -> dict[str, Any]:
        return doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]

    assert answer("/posts/{post_id}.json")["schema"]["$ref"].endswith("/getPostResponse")
    assert answer("/latest.json")["schema"]["$ref"].endswith("/listLatestTopicsResponse")
    # Twins Discourse does not list get the schema of the route they mirror.
    assert (
        answer("/c/{category_id}.json")["schema"]
        == answer("/c/{slug}/{category_id}.json")["schema"]
    )
    assert answer("/t/{slug}/{topic_id}.json")["schema"]["$ref"].endswith("/getTopicResponse")
    assert answer("/users/{username}.json")["schema"]["$ref"].endswith("/getUserResponse")
    create = doc["paths"]["/posts.json"]["post"]
    assert create["x-discourse-operationId"] == "createTopicPostPM"
    assert set(create["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }
    assert "getPostResponse" in doc["components"]["schemas"]
    assert "Copyright (c) 2016 Civilized Discourse" in doc["x-discourse-license"]


def test_parlor_routes_have_their_own_answers(doc):
    paths = doc["paths"]
    ips = paths["/admin/users/{username}/ips.{fmt}"]["get"]["responses"]["200"]["content"]
    assert set(ips) == {"application/json", "text/csv"}
    export = paths["/u/{username}/export.zip"]["get"]["responses"]
    assert "application/zip" in export["200"]["content"] and "429" in export
    page = paths["/newsletter/unsubscribe"]["post"]["responses"]["200"]["content"]
    assert "text/html" in page
    assert paths["/privacy.json"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ] == {"$ref": "#/components/schemas/PrivacyPolicy"}
    error = doc["components"]["schemas"]["Error"]
    assert error["required"] == ["errors", "error_type"]
    assert error["properties"]["errors"] == {"type": "array", "items": {"type": "string"}}
    # Every API operation documents errors in that shape.
    for path, _, op in operations(doc):
        if "application/json" in json.dumps(op["responses"]) and not path.startswith("/auth/"):
            assert op["responses"].get("default") == {"$ref": "#/components/responses/Error"}, path


def test_security_schemes_and_who_may_call(doc):
    schemes = doc["components"]["securitySchemes"]
    assert schemes["apiKey"] == {**schemes["apiKey"], "in": "header", "name": "Api-Key"}
    assert schemes["apiUsername"]["name"] == "Api-Username"
    assert schemes["csrfToken"]["name"] == "X-CSRF-Token"
    assert schemes["session"]["in"] == "cookie"
    latest = doc["paths"]["/latest.json"]["get"]
    assert {} in latest["security"]  # reads work signed out (P4)
    create = doc["paths"]["/posts.json"]["post"]
    assert {} not in create["security"]
    assert {"session": [], "csrfToken": []} in create["security"]
    assert {"apiKey": [], "apiUsername": []} in create["security"]
    audit = doc["paths"]["/admin/audit-log.{fmt}"]["get"]
    assert "Admins only." in audit["description"] and "403" in audit["responses"]


def test_tags_and_summaries(doc):
    tags = {path: op["tags"][0] for path, _, op in operations(doc)}
    assert tags["/latest.json"] == "content"
    assert tags["/session/current.json"] == "session"
    assert tags["/admin/ip-lookup.{fmt}"] == "moderation"
    assert tags["/u/{username}/export.zip"] == "privacy"
    assert tags["/auth/github/login"] == "auth"
    assert tags["/t/{slug}/{topic_id}"] == "pages"
    assert set(tags.values()) <= {t["name"] for t in doc["tags"]}
    from forum.api.post_routes import create_post

    first = inspect.getdoc(create_post).split("\n\n")[0]
    assert doc["paths"]["/posts.json"]["post"]["summary"] == " ".join(first.split())


def test_cached_per_app(app, client):
    client.get("/openapi.json")
    assert openapi.document(app) is openapi.document(app)


def test_committed_discourse_copy_is_current():
    """The copy in the repo is what `python -m forum.api.openapi_paths` makes today."""
    source = json.loads((SHARED / "openapi.json").read_text(encoding="utf-8"))
    license_text = (SHARED / "LICENSE.txt").read_text(encoding="utf-8")
    fresh = openapi_paths.extract_discourse(source, license_text)
    assert openapi_paths.discourse() == json.loads(json.dumps(fresh))


def test_parlor_answers_fit_their_documented_schemas(app, users, category_id, member):
    """The document tells the truth about Parlor's own JSON answers. (Those of Discourse's
    routes are checked against Discourse's schemas by test_discourse_schemas.py.)"""
    jsonschema = pytest.importorskip("jsonschema")
    alice, ada = member(users["alice"]), member(users["ada"])
    doc = alice.get("/openapi.json").get_json()
    created = alice.post(
        "/posts.json",
        json={
            "title": "Describing the API",
            "raw": "Every route, every shape.",
            "category": category_id,
        },
    )
    assert created.status_code == 200, created.get_json()
    post_id = created.get_json()["id"]

    def check(who: Any, method: str, path: str, url: str, **kwargs: Any) -> None:
        r = getattr(who, method)(url, **kwargs)
        assert r.status_code == 200, (url, r.get_json())
        content = doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]
        schema = {**content["schema"], "components": doc["components"]}
        jsonschema.Draft202012Validator(schema).validate(r.get_json())

    check(alice, "get", "/session/current.json", "/session/current.json")
    check(alice, "get", "/session/csrf.json", "/session/csrf.json")
    check(alice, "get", "/privacy.json", "/privacy.json")
    check(alice, "put", "/u/{username}.json", "/u/alice.json", json={"first_name": "Al"})
    check(ada, "get", "/admin/posts/{post_id}/ip.{fmt}", f"/admin/posts/{post_id}/ip.json")
    check(ada, "get", "/admin/users/{username}/ips.{fmt}", "/admin/users/alice/ips.json")
    check(
        ada,
        "get",
        "/admin/users/{username}/shared-ips.{fmt}",
        "/admin/users/alice/shared-ips.json",
    )
    check(ada, "get", "/admin/ip-lookup.{fmt}", "/admin/ip-lookup.json?q=127.0.0.1")
    check(ada, "put", "/admin/posts/{post_id}/hide.json", f"/admin/posts/{post_id}/hide.json")
    check(
        ada,
        "post",
        "/admin/screened-ips.json",
        "/admin/screened-ips.json",
        json={"ip_address": "203.0.113.0/24", "reason": "spam"},
    )
    check(ada, "get", "/admin/screened-ips.{fmt}", "/admin/screened-ips.json")
    check(ada, "get", "/admin/audit-log.{fmt}", "/admin/audit-log.json")


def test_registered_by_the_forum_itself():
    """This module imports forum.api.openapi; a fresh process shows the forum does too."""
    code = (
        "from forum import create_app\n"
        "app = create_app({'SQLALCHEMY_DATABASE_URI': 'sqlite://', 'SECRET_KEY': 'x'})\n"
        "print(sorted(r.endpoint for r in app.url_map.iter_rules() if r.rule == '/openapi.json'))\n"
    )
    env = {**os.environ, "PARLOR_ENV": "testing"}
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "['api.openapi_document']", out.stderr
