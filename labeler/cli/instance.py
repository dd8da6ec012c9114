"""Instance commands: ``init``, ``create-user``, ``token`` and ``serve``."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import select

from labeler.cli.common import project_named
from labeler.extensions import db
from labeler.models import ROLES, User
from labeler.services.accounts import password_problem


def apply_migrations() -> None:
    from labeler.paths import resource_dir

    upgrade(directory=str(resource_dir("migrations")))


@click.command("init")
@click.option("--admin-username", default=None, help="Create this admin (prompted if absent).")
@click.option("--admin-password", default=None, help="Password of the first admin.")
@with_appcontext
def init_command(admin_username: str | None, admin_password: str | None) -> None:
    """Create or upgrade the database, then create the first admin."""
    apply_migrations()
    if db.session.scalar(select(User).where(User.role == "admin")) is not None:
        click.echo("Database is up to date; an admin already exists.")
        return
    username = admin_username or click.prompt("Admin username", default="admin")
    password = admin_password or click.prompt(
        "Admin password", hide_input=True, confirmation_prompt=True
    )
    problem = password_problem(password, username)
    if problem:
        raise click.ClickException(problem)
    user = User(username=username, role="admin")
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created admin {username!r}. Start the server with: labeler serve")


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="annotator")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--project", "projects", multiple=True, help="Project name to join (repeatable).")
@with_appcontext
def create_user_command(username: str, role: str, password: str, projects: tuple[str, ...]) -> None:
    """Create a user, optionally a member of some projects."""
    from labeler.services.projects.store import set_member

    if db.session.scalar(select(User).where(User.username == username)):
        raise click.ClickException(f"user {username!r} exists")
    problem = password_problem(password, username)
    if problem:
        raise click.ClickException(problem)
    user = User(username=username, role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    for name in projects:
        set_member(project_named(name), user, "reviewer" if role == "reviewer" else "annotator")
    db.session.commit()
    click.echo(f"Created {role} {username!r}.")


@click.command("token")
@click.argument("username")
@click.option("--name", default="cli", help="A name to recognise the token by.")
@click.option("--days", default=90, show_default=True, help="Days until it expires (0: never).")
@with_appcontext
def token_command(username: str, name: str, days: int) -> None:
    """Create an API token for USERNAME and print it (it is stored hashed)."""
    from labeler.auth import create_token

    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    _, secret = create_token(user, name, days or None)
    db.session.commit()
    click.echo(secret)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option(
    "--workers", default=None, type=int, help="Web processes (default: one per core, 2+)."
)
@click.option("--threads", default=8, show_default=True, help="Threads per web process.")
@with_appcontext
def serve_command(host: str, port: int, workers: int | None, threads: int) -> None:
    """Serve labeler: web processes, and a job worker process that runs training."""
    serve(current_app._get_current_object(), host, port, workers, threads)  # type: ignore[attr-defined]


def serve(app: Flask, host: str, port: int, workers: int | None = None, threads: int = 8) -> None:
    from labeler.cli import server

    db.session.remove()  # the web and job workers open their own connections
    db.engine.dispose()
    server.run(app, host, port, workers or server.default_workers(), threads)
