"""``labeler backup PATH`` and ``labeler restore PATH`` (SQLite instances)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from labeler.extensions import db
from labeler.services import ServiceError
from labeler.services import backup as instance_backup


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Write a consistent copy of the instance to the new folder PATH (the server may run)."""
    try:
        manifest = instance_backup.backup(current_app.config, Path(current_app.instance_path), path)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    tables = manifest["tables"]
    click.echo(
        f"Backed up to {path}: {tables.get('item', 0)} items, "
        f"{tables.get('annotation', 0)} annotations, {len(tables)} tables."
    )


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
def restore_command(path: Path) -> None:
    """Restore the backup in PATH into this instance, which must be empty."""
    db.session.remove()
    db.engine.dispose()  # no pooled connection may hold the file being replaced
    try:
        manifest = instance_backup.restore(
            current_app.config, Path(current_app.instance_path), path
        )
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"Restored {path} (taken {manifest['created_at']}, schema {manifest['schema_revision']}). "
        "Run `labeler init` if this labeler is newer, to upgrade the schema."
    )
