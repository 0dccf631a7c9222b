"""Rate limits (Flask-Limiter): per member and per client address, on Parlor's own routes.

A view opts in with `@limited("post")` (under its route decorator). `init_ratelimits(app)`
then gives the app its own `Limiter` and wraps every tagged view of Parlor's blueprints, so
a host application's routes are never limited and each app (each test) has its own
storage, key prefix and rules. The JSON route and the page route of one action share one
counter: the bucket is the action's name, not the endpoint.

Refusals follow Discourse: JSON routes answer 429 `rate_limit` with `extras.wait_seconds`
and `Retry-After`; pages answer an HTML 429 page, sign-in its failure page, both with
`Retry-After`. When the storage (Redis) fails, the limits go on per process in memory and
a warning is logged; any other error in the limiter is logged and the request is served.
"""

from __future__ import annotations

import ipaddress
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial, wraps
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse_many

from config import ConfigError
from forum.net import client_ip
from forum.timeutil import utcnow

F = TypeVar("F", bound=Callable[..., Any])

OURS = frozenset({"api", "web", "auth", "avatars"})
WRITES = ("POST", "PUT", "PATCH", "DELETE")
NEW_ACCOUNT_AGE = timedelta(days=1)
TAG = "parlor_rate_limits"
GENERIC = (
    "You've performed this action too many times. Please wait {time_left} before trying again."
)


@dataclass(frozen=True)
class Action:
    """One limited action. Limits are Flask-Limiter strings ("1 per 5 seconds; 20 per day");
    an empty string means no limit of that kind."""

    message: str
    member: str = ""  # per signed-in member
    new_member: str | None = None  # per member whose account is younger than a day (None: member)
    ip: str = ""  # per client address (IPv6: per /64)
    writes_only: bool = True  # GET of the same route (the form) is not counted
    successes_only: bool = True  # only answers below 400 count (Discourse counts created posts)
    staff_exempt: bool = True  # as in Discourse, staff are not slowed down writing


# Discourse's defaults where it has one (rate_limit_create_post 5 s, rate_limit_create_topic
# 15 s, for new users 30 s and 2 min, max_topics_in_first_day 3, max_replies_in_first_day 10,
# max_topics_per_day 20, max_edits_per_day 30, max_likes_per_day 50, max_logins_per_ip 6 a
# minute and 30 an hour). Overridden per setting by RATELIMIT_RULES.
ACTIONS: dict[str, Action] = {
    "signin": Action(
        "Too many sign-in attempts from your address. Please wait {time_left} and sign in again.",
        # /auth/github/login and its callback both count: 6 sign-ins a minute, 30 an hour.
        ip="12 per minute; 60 per hour",
        writes_only=False,
        successes_only=False,
        staff_exempt=False,
    ),
    "topic": Action(
        "You're creating new topics too quickly. Please wait {time_left} before trying again.",
        member="1 per 15 seconds; 20 per day",
        new_member="1 per 2 minutes; 3 per day",
        ip="10 per minute; 100 per day",
    ),
    "post": Action(
        "You're replying too quickly. Please wait {time_left} before trying again.",
        member="1 per 5 seconds",
        new_member="1 per 30 seconds; 10 per day",
        ip="30 per minute; 1000 per day",
    ),
    "edit": Action(
        "You've edited too many times. Please wait {time_left} before trying again.",
        member="30 per day",
        ip="60 per hour",
    ),
    "like": Action(
        "Wow! You've been sharing a lot of love! Please wait {time_left} before trying again.",
        member="10 per minute; 50 per day",
        ip="30 per minute; 300 per day",
    ),
    "export": Action(
        "You've downloaded data too often. Please wait {time_left} before trying again.",
        # Self-service exports are also paced by EXPORT_INTERVAL_MINUTES (forum/privacy).
        member="10 per hour",
        ip="20 per hour",
        writes_only=False,
        staff_exempt=False,
    ),
    "staff_lookup": Action(
        GENERIC,
        member="30 per minute; 300 per hour",
        ip="60 per minute",
        writes_only=False,
        successes_only=False,
        staff_exempt=False,
    ),
}
LIMIT_FIELDS = ("member", "new_member", "ip")


def limited(action: str, when: Callable[[], bool] | None = None) -> Callable[[F], F]:
    """Count calls of this view against `action`'s limits (optionally only `when()` says so).

    Put it right under the route decorator. It only tags the view; the limits take effect
    in `init_ratelimits`, with that app's settings."""
    if action not in ACTIONS:
        raise KeyError(f"no rate-limited action {action!r}; known: {', '.join(ACTIONS)}")

    def tag(view: F) -> F:
        # A new tuple, not an append: functools.wraps shares __dict__ values with the inner view.
        setattr(view, TAG, (*getattr(view, TAG, ()), (action, when)))
        return view

    return tag


def rules(setting: str | Mapping[str, Any] | None) -> dict[str, Action]:
    """ACTIONS with RATELIMIT_RULES applied: JSON (or a mapping) such as
    `{"post": {"member": "1 per 10 seconds", "ip": ""}}`. Refuses unknown names and limits
    it cannot parse, so a typo is a start-up error rather than a missing limit."""
    if not setting:
        return dict(ACTIONS)
    if isinstance(setting, str):
        try:
            setting = json.loads(setting)
        except ValueError as exc:
            raise ConfigError(f"RATELIMIT_RULES is not valid JSON: {exc}") from None
    if not isinstance(setting, Mapping):
        raise ConfigError('RATELIMIT_RULES must be a JSON object like {"post": {"member": ...}}')
    merged = dict(ACTIONS)
    for name, changes in setting.items():
        if name not in ACTIONS:
            raise ConfigError(f"RATELIMIT_RULES: no action {name!r}; known: {', '.join(ACTIONS)}")
        if not isinstance(changes, Mapping) or not set(changes) <= set(LIMIT_FIELDS):
            raise ConfigError(
                f"RATELIMIT_RULES[{name!r}] must be an object with keys from {LIMIT_FIELDS}"
            )
        for key, value in changes.items():
            if not isinstance(value, str):
                raise ConfigError(f"RATELIMIT_RULES[{name!r}][{key!r}] must be a string")
            try:
                parse_many(value) if value.strip() else None
            except ValueError:
                raise ConfigError(
                    f"RATELIMIT_RULES[{name!r}][{key!r}]: {value!r} is not a limit such as "
                    "'1 per 5 seconds; 20 per day'"
                ) from None
        merged[name] = replace(merged[name], **dict(changes))
    return merged


# -- who is counted ----------------------------------------------------------------------


def current_member() -> Any:
    # auth.sessions's, imported when called: at import time it would be circular
    # (importing auth runs auth.routes, which uses this module).
    from auth.sessions import current_member as signed_in

    return signed_in()


def member_key() -> str:
    user = current_member()
    return f"member:{user.id}" if user is not None else ""


def ip_key() -> str:
    """The client address from the one client-IP function; IPv6 by /64, the block one
    subscriber gets, or a single machine could walk through addresses."""
    ip = g.get("parlor_client_ip") or client_ip(
        request.environ, current_app.extensions["parlor"].trusted_proxies
    )
    if ip is None:  # a proxy set-up that hides the client: they all share one bucket
        return "ip:unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        return f"ip6:{ipaddress.IPv6Network((ip, 64), strict=False).network_address}"
    return f"ip:{ip}"


def _is_new(user: Any) -> bool:
    return user.created_at is not None and utcnow() - user.created_at < NEW_ACCOUNT_AGE


def _member_limit(action: Action) -> str:
    user = current_member()
    if user is not None and action.new_member is not None and _is_new(user):
        return action.new_member
    return action.member


def _exempt(action: Action, per_member: bool, when: Callable[[], bool] | None) -> bool:
    user = current_member()
    if per_member and user is None:
        return True  # visitors are refused by the view; only their address counts
    if action.staff_exempt and user is not None and user.is_staff:
        return True
    return when is not None and not when()


def _succeeded(response: Response) -> bool:
    return response.status_code < 400


# -- wiring ------------------------------------------------------------------------------


def init_ratelimits(app: Flask) -> None:
    """A Limiter for `app` (when RATELIMIT_ENABLED), wrapping Parlor's tagged views."""
    table = rules(app.config.get("RATELIMIT_RULES"))
    if not app.config.get("RATELIMIT_ENABLED"):
        return
    uri = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    options: dict[str, Any] = {}
    if uri.startswith(("redis://", "rediss://", "redis+")):
        # A Redis that hangs must not hang the forum: fail over to memory quickly.
        # (Flask-Limiter's RATELIMIT_STORAGE_OPTIONS, if set, wins over these.)
        options = {"socket_connect_timeout": 2, "socket_timeout": 2}
    limiter = Limiter(
        ip_key,
        storage_uri=uri,
        storage_options=options,
        strategy="moving-window",
        key_prefix=app.config.get("RATELIMIT_KEY_PREFIX") or "parlor",
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        # A host's RATELIMIT_DEFAULT / RATELIMIT_APPLICATION are for its own limiter.
        default_limits_exempt_when=lambda: True,
        application_limits_exempt_when=lambda: True,
    )
    limiter.request_filter(lambda: request.blueprint not in OURS)
    limiter.init_app(app)
    app.extensions["parlor_limiter"] = limiter

    wrapped: dict[int, Callable[..., Any]] = {}  # one view may serve several endpoints
    for endpoint, view in list(app.view_functions.items()):
        tags = getattr(view, TAG, None)
        if not tags or endpoint.split(".", 1)[0] not in OURS:
            continue
        if id(view) not in wrapped:
            wrapped[id(view)] = _limit_view(limiter, table, view, tags)
        app.view_functions[endpoint] = wrapped[id(view)]


def _limit_view(
    limiter: Limiter,
    table: dict[str, Action],
    view: Callable[..., Any],
    tags: tuple[tuple[str, Callable[[], bool] | None], ...],
) -> Callable[..., Any]:
    checked = view
    for name, when in tags:
        action = table[name]
        for per_member in (True, False):
            # shared_limit: the bucket is the action, so the page and the JSON route share it.
            checked = limiter.shared_limit(
                partial(_member_limit, action) if per_member else action.ip,
                scope=name,
                key_func=member_key if per_member else ip_key,
                methods=list(WRITES) if action.writes_only else None,
                exempt_when=partial(_exempt, action, per_member, when),
                deduct_when=_succeeded if action.successes_only else None,
            )(checked)

    @wraps(view)
    def answer(*args: Any, **kwargs: Any) -> Any:
        try:
            return checked(*args, **kwargs)
        except RateLimitExceeded:
            return too_many(limiter, table)

    return answer


def too_many(limiter: Limiter, table: dict[str, Action]) -> Any:
    """The 429 in the shape of the blueprint that was asked: JSON, page or sign-in page."""
    breached = limiter.current_limit
    wait, name = 1, ""
    if breached is not None:
        name = str(breached.request_args[-1])  # [prefix, key, scope]: the scope is the action
        try:
            wait = max(1, math.ceil(breached.window.reset_time - time.time()))
        except Exception:  # the storage failed just now: still refuse, with a short wait
            current_app.logger.warning("rate limit storage failed reading the wait time")
    action = table.get(name)
    message = (action.message if action else GENERIC).format(time_left=time_left(wait))
    from forum.web.blueprint import navigated, slow_down_page

    if request.blueprint == "api" and not navigated():
        from forum.api.responses import rate_limited

        return rate_limited(message, wait)
    if request.blueprint == "auth":
        from auth.routes import failure

        return failure("too_many_attempts", 429, retry_after=wait)
    return slow_down_page(message, wait)


def time_left(seconds: int) -> str:
    """Discourse's wording of a wait: seconds under a minute, then minutes, then hours."""
    if seconds < 60:
        count, unit = seconds, "second"
    elif seconds < 3600:
        count, unit = math.ceil(seconds / 60), "minute"
    else:
        count, unit = math.ceil(seconds / 3600), "hour"
    return f"{count} {unit}{'' if count == 1 else 's'}"


__all__ = ["ACTIONS", "Action", "init_ratelimits", "limited", "rules"]
