"""The ``labeler`` console script: a Flask command group around the app factory."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import FlaskGroup


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

    try:
        return create_app()
    except RuntimeError as exc:  # no secret key yet: say what to do, without a traceback
        raise click.ClickException(str(exc)) from None


class LabelerGroup(FlaskGroup):
    """Flask's command group, with labeler's commands its own.

    Flask finds an app's commands by building the app, which needs a secret key and a
    database: before ``labeler init`` it printed a traceback and listed none of them.
    Held by the group, every command and its ``--help`` work before any configuration;
    a command builds the app only when it runs.
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        from flask_migrate.cli import db as db_group

        from labeler.cli import labeler_commands

        for command in [*labeler_commands(), db_group]:
            self.add_command(command)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(click.Group.list_commands(self, ctx))


def main() -> None:
    command = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    if command in ("init", "demo") and not os.environ.get("LABELER_SECRET_KEY"):
        ensure_secret_key(_default_instance_path())
    if command == "simulate":  # a client of a running server: it needs no app of its own
        from labeler.cli.simulate import simulate_command

        return simulate_command.main(
            sys.argv[sys.argv.index("simulate") + 1 :], prog_name="labeler simulate"
        )
    cli = LabelerGroup(
        create_app=_create_app,
        add_default_commands=True,
        help="labeler: label data with colleagues, measure agreement, "
        "and train a model on the way.",
    )
    cli.main(prog_name="labeler")
