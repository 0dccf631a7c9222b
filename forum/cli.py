"""`flask --app wsgi forum ...`: the operator's commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from forum.content.categories import create_category
from forum.content.errors import ContentError
from forum.db import db
from forum.users.roles import RoleError, grant_role

forum_cli = AppGroup("forum", help="Parlor forum commands.")


@forum_cli.command("seed-demo")
def seed_demo_command() -> None:
    """Seed the demo forum (safe to run twice)."""
    from forum.demo import seed_demo

    created = seed_demo()
    db.session.commit()
    click.echo("Demo forum seeded." if created else "Demo forum already seeded; nothing to do.")


@forum_cli.command("grant-role")
@click.argument("username")
@click.argument("role", type=click.Choice(["member", "moderator", "admin"]))
def grant_role_command(username: str, role: str) -> None:
    """Make USERNAME a member, moderator or admin."""
    try:
        user = grant_role(username, role)
    except RoleError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"{user.username} is now {role}.")


@forum_cli.group("category")
def category_cli() -> None:
    """Manage categories."""


@category_cli.command("create")
@click.argument("name")
@click.option("--description", default="", help="One line shown under the name.")
def category_create_command(name: str, description: str) -> None:
    """Create a category called NAME."""
    try:
        category = create_category(name, description)
    except ContentError as exc:
        raise click.ClickException("; ".join(exc.messages)) from None
    db.session.commit()
    click.echo(f"Created category {category.name!r} (id {category.id}, slug {category.slug}).")


@forum_cli.command("purge")
def purge_command() -> None:
    """Erase post IPs and sign-in events past their retention (run it daily)."""
    from flask import current_app

    from forum.privacy.retention import purge
    from forum.timeutil import utcnow

    cfg = current_app.config
    done = purge(utcnow(), cfg["POST_IP_RETENTION_DAYS"], cfg["SIGNIN_RETENTION_DAYS"])
    click.echo(
        f"Erased {done.post_ips} post IPs and {done.edit_ips} edit IPs; "
        f"deleted {done.sign_ins} sign-in events."
    )
