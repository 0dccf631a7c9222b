"""The route table is complete and agrees with the code: a route added without a class or
without sample arguments fails here, so every walk in this package covers it."""

from __future__ import annotations

from .routes import (
    ADMIN,
    ARGUMENTS,
    MEMBER,
    OWNER,
    PUBLIC,
    ROLE_OF,
    ROUTES,
    STAFF,
    UNSAFE,
    key,
    pairs,
    role_of,
    route_app,
    rules,
)


def test_every_route_is_classified() -> None:
    missing = [
        key(m, r.endpoint) + f"  ({r.rule})" for r, m in pairs() if key(m, r.endpoint) not in ROUTES
    ]
    assert not missing, "add these to tests/security/routes.py ROUTES:\n" + "\n".join(missing)


def test_every_url_argument_has_a_sample() -> None:
    missing = sorted(
        {f"{a} (in {r.rule})" for r in rules() for a in r.arguments if a not in ARGUMENTS}
    )
    assert not missing, "add samples to tests/security/routes.py ARGUMENTS: " + ", ".join(missing)


def test_no_entry_names_a_route_that_is_gone() -> None:
    present = {key(m, r.endpoint) for r, m in pairs()}
    assert sorted(set(ROUTES) - present) == []


def test_the_class_agrees_with_the_role_the_view_requires() -> None:
    """`requires(role)` / `page_requires(role)` leave `parlor_role` on the view: a route the
    table calls staff must be guarded as staff, and a public one guarded by nothing."""
    app = route_app()
    wrong = []
    for rule, method in pairs():
        if key(method, rule.endpoint) not in ROUTES:
            continue  # test_every_route_is_classified names it
        access = ROUTES[key(method, rule.endpoint)].access
        role = role_of(app, rule.endpoint)
        if role != ROLE_OF.get(access):
            wrong.append(f"{method} {rule.rule}: table says {access}, the view requires {role}")
    assert not wrong, "\n".join(wrong)


def test_every_admin_route_is_for_staff_or_admins() -> None:
    app = route_app()
    admin_rules = [r for r in rules() if r.rule.startswith("/admin")]
    assert len(admin_rules) >= 10
    for rule in admin_rules:
        assert role_of(app, rule.endpoint) in ("staff", "admin"), rule.rule
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            route = ROUTES.get(key(method, rule.endpoint))
            assert route is None or route.access in (STAFF, ADMIN), rule.rule


def test_no_write_is_open_to_visitors() -> None:
    """Writes are for members, or authorised by the caller's session or a token."""
    for rule, method in pairs():
        route = ROUTES.get(key(method, rule.endpoint))
        if method in UNSAFE and route is not None:
            assert route.access != PUBLIC, (method, rule.rule)


def test_members_routes_name_who_succeeds() -> None:
    for name, route in ROUTES.items():
        if route.access in (MEMBER, OWNER, STAFF, ADMIN):
            assert route.actor, name
        if route.access == OWNER:
            assert route.actor == "alice", name  # the walks send bob after alice's things


def test_the_table_is_read_from_the_same_routes_the_tests_run(app) -> None:
    assert [(r.rule, r.endpoint, sorted(r.methods)) for r in rules(app)] == [
        (r.rule, r.endpoint, sorted(r.methods)) for r in rules()
    ]


def test_no_route_serves_the_working_directory() -> None:
    """Flask's default /static would serve <cwd>/static/ for the standalone app."""
    assert "static" not in route_app().view_functions
    assert all(not r.rule.startswith("/static/") for r in rules())
