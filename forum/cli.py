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
    """Erase post IPs, sign-in events and backups past their retention (run it daily)."""
    from flask import current_app

    from forum.privacy.backups import purge_backups
    from forum.privacy.retention import purge
    from forum.timeutil import utcnow

    cfg = current_app.config
    done = purge(utcnow(), cfg["POST_IP_RETENTION_DAYS"], cfg["SIGNIN_RETENTION_DAYS"])
    backups = purge_backups(cfg["BACKUP_DIR"], cfg["BACKUP_RETENTION_DAYS"])
    click.echo(
        f"Erased {done.post_ips} post IPs and {done.edit_ips} edit IPs; "
        f"deleted {done.sign_ins} sign-in events and {backups} old backups."
    )


@forum_cli.command("export")
@click.argument("username")
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write the ZIP.",
)
def export_command(username: str, output: str) -> None:
    """Write USERNAME's data export to a ZIP (for requests that arrive by e-mail)."""
    from flask import current_app

    from forum.privacy.export import export_files, stream_zip
    from forum.users.roles import find_user

    user = find_user(username)
    if user is None or user.github_id is None:
        raise click.ClickException(f"no member named {username!r}")
    site = current_app.config.get("PUBLIC_URL") or "this forum"
    with open(output, "wb") as f:
        for chunk in stream_zip(export_files(user, site, current_app.config["THIRD_PARTIES_FILE"])):
            f.write(chunk)
    click.echo(f"Wrote {user.username}'s data to {output}.")


@forum_cli.command("newsletter-recipients")
def newsletter_recipients_command() -> None:
    """Print each opted-in address and its unsubscribe URL, tab-separated."""
    from forum.privacy.newsletter import recipients

    for address, url in recipients():
        click.echo(f"{address}\t{url}")


@forum_cli.command("erase")
@click.argument("username")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_command(username: str, yes: bool) -> None:
    """Erase USERNAME: posts stay as Anonymous, everything personal is deleted."""
    from forum.content.errors import ContentError
    from forum.privacy.erasure import erase, finish_erasure
    from forum.users.roles import find_user

    user = find_user(username)
    if user is None or user.github_id is None:
        raise click.ClickException(f"no member named {username!r}")
    if not yes:
        click.confirm(f"Erase {user.username} for good?", abort=True)
    try:
        erase(user)
    except ContentError as exc:
        raise click.ClickException("; ".join(exc.messages)) from None
    db.session.commit()
    finish_erasure()
    click.echo(f"Erased {username}; their posts now show as Anonymous.")


@forum_cli.command("backup")
def backup_command() -> None:
    """Take a consistent online snapshot of the database into BACKUP_DIR."""
    from flask import current_app

    from forum.privacy.backups import BackupError, backup

    try:
        backup(current_app.config["BACKUP_DIR"], progress=click.echo)
    except BackupError as exc:
        raise click.ClickException(
            f"{exc}. Nothing was written; earlier backups are untouched."
        ) from None


@forum_cli.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(file: str, yes: bool) -> None:
    """Replace the database with FILE (stop the app first), then re-apply every erasure
    and removed field recorded since the backup was taken."""
    from forum.privacy.backups import restore

    if not yes:
        click.confirm("This replaces the whole database. Is the app stopped?", abort=True)
    try:
        restore(file, progress=click.echo)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@forum_cli.group("api-key")
def api_key_cli() -> None:
    """Manage API keys (Api-Key / Api-Username headers)."""


@api_key_cli.command("create")
@click.argument("username")
@click.option("--description", default="", help="What the key is for.")
@click.option("--all-users", is_flag=True, help="An admin's key that may act as any member.")
def api_key_create_command(username: str, description: str, all_users: bool) -> None:
    """Create a key for USERNAME and print it, once."""
    from auth.api_keys import ApiKeyError, create_key

    try:
        made = create_key(username, description, all_users)
    except ApiKeyError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    scope = "any member (send Api-Username)" if all_users else username
    click.echo(f"API key {made.record.prefix}… for {scope}. It is shown only now:")
    click.echo(made.key)


@api_key_cli.command("revoke")
@click.argument("prefix")
def api_key_revoke_command(prefix: str) -> None:
    """Revoke the active key whose first characters are PREFIX."""
    from auth.api_keys import ApiKeyError, revoke_key

    try:
        key = revoke_key(prefix)
    except ApiKeyError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Revoked key {key.prefix}… (id {key.id}).")
