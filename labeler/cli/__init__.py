"""The ``labeler`` command line, one module per command group.

``main`` is the console script; the commands are registered on every app by
:func:`register_commands`, so ``flask --app labeler`` and test runners see them too.
"""

from __future__ import annotations

import click
from flask import Flask


def register_commands(app: Flask) -> None:
    for command in labeler_commands():
        app.cli.add_command(command)


def labeler_commands() -> list[click.Command]:
    """Every command of the ``labeler`` script (the console script lists them without an app)."""
    # Imported here: the command modules import flask_migrate, click and the services,
    # which a request-serving process that never runs a command does not need at start.
    from labeler.cli.backup import backup_command, restore_command
    from labeler.cli.data import demo_command, export_command, import_command
    from labeler.cli.instance import create_user_command, init_command, serve_command, token_command
    from labeler.cli.interchange import export_to_command, import_from_command
    from labeler.cli.models import train_command
    from labeler.cli.projects import project_group
    from labeler.cli.quality import quality_command
    from labeler.cli.simulate import simulate_command
    from labeler.cli.webhooks import retry_webhooks_command
    from labeler.cli.worker import worker_command

    return [
        init_command,
        create_user_command,
        token_command,
        serve_command,
        demo_command,
        import_command,
        export_command,
        train_command,
        worker_command,
        quality_command,
        simulate_command,
        project_group,
        backup_command,
        restore_command,
        import_from_command,
        export_to_command,
        retry_webhooks_command,
    ]
