"""The ``labeler`` command: init, demo, serve, import, users and tokens."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import ROLES, Project, User


def _default_instance_path() -> Path:
    configured = os.environ.get("LABELER_INSTANCE_PATH")
    if configured:
        return Path(configured).resolve()
    return Path(Flask("labeler").instance_path)


def ensure_secret_key(instance: Path) -> None:
    """Write a random SECRET_KEY into instance/config.py once, so sessions survive restarts."""
    config = instance / "config.py"
    if config.exists() and "SECRET_KEY" in config.read_text():
        return
    instance.mkdir(parents=True, exist_ok=True)
    with config.open("a") as handle:
        handle.write(f"SECRET_KEY = {secrets.token_hex(32)!r}\n")
    config.chmod(0o600)


def _create_app() -> Flask:
    from labeler import create_app

    return create_app()


def main() -> None:
    command = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    if command in ("init", "demo") and not os.environ.get("LABELER_SECRET_KEY"):
        ensure_secret_key(_default_instance_path())
    if command == "simulate":  # a client of a running server: it needs no app of its own
        from labeler.cli_simulate import simulate_command

        return simulate_command.main(
            sys.argv[sys.argv.index("simulate") + 1 :], prog_name="labeler simulate"
        )
    cli = FlaskGroup(
        create_app=_create_app,
        add_default_commands=True,
        help="labeler: label data with colleagues, measure agreement, "
        "and train a model on the way.",
    )
    cli.main(prog_name="labeler")


def register_commands(app: Flask) -> None:
    from labeler.cli_data import demo_command, export_command, import_command

    for command in (
        init_command,
        create_user_command,
        token_command,
        serve_command,
        demo_command,
        import_command,
        export_command,
    ):
        app.cli.add_command(command)
    app.cli.add_command(__import__("labeler.cli_models", fromlist=["_"]).train_command)
    app.cli.add_command(__import__("labeler.cli_worker", fromlist=["_"]).worker_command)
    app.cli.add_command(__import__("labeler.cli_quality", fromlist=["_"]).quality_command)
    app.cli.add_command(__import__("labeler.cli_simulate", fromlist=["_"]).simulate_command)


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
    if len(password) < 8:
        raise click.ClickException("the password needs at least 8 characters")
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
    from labeler.services.projects import set_member

    if db.session.scalar(select(User).where(User.username == username)):
        raise click.ClickException(f"user {username!r} exists")
    user = User(username=username, role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    for name in projects:
        project = db.session.scalar(select(Project).where(Project.name == name))
        if project is None:
            raise click.ClickException(f"no project named {name!r}")
        set_member(project, user, "reviewer" if role == "reviewer" else "annotator")
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
@with_appcontext
def serve_command(host: str, port: int) -> None:
    """Serve labeler with the built-in threaded server (one machine, one process)."""
    serve(current_app._get_current_object(), host, port)  # type: ignore[attr-defined]


def serve(app: Flask, host: str, port: int) -> None:
    # Not app.run(): inside a `flask`/`labeler` CLI command Flask ignores it and returns.
    from werkzeug.serving import run_simple

    click.echo(f"labeler is serving on http://{host}:{port}/  (Ctrl+C to stop)")
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
