"""Backing up an instance and restoring it into an empty one (SQLite).

A backup is a folder: ``labeler.sqlite`` (SQLite's online backup API, so it is one
consistent snapshot while the server keeps writing), the artifact and media folders,
``config.py`` when the instance has one (it holds the secret key: keep the backup
private), and ``manifest.json`` (labeler's version, the schema revision, rows per table).

PostgreSQL instances are backed up with ``pg_dump`` (the README shows how); this
module refuses them rather than copy half an instance.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labeler.config import VERSION
from labeler.services import ServiceError

DATABASE_FILE = "labeler.sqlite"
MANIFEST_FILE = "manifest.json"
FOLDERS = ("ARTIFACT_FOLDER", "MEDIA_FOLDER")  # uploads are half-finished imports: not kept


def sqlite_path(database_url: str) -> Path:
    """The file of a ``sqlite:///`` URL; ServiceError for any other database."""
    if not database_url.startswith("sqlite:///") or database_url == "sqlite:///:memory:":
        raise ServiceError(
            "backup and restore work on SQLite instances; back up PostgreSQL with pg_dump "
            "and copy the artifact folder (see the README)"
        )
    return Path(database_url.removeprefix("sqlite:///"))


def table_counts(connection: sqlite3.Connection) -> dict[str, int]:
    names = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    return {
        name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names
    }


def backup(config: dict[str, Any], instance_path: Path, target: Path) -> dict[str, Any]:
    """Write a backup of the instance to the new folder ``target``; return its manifest."""
    source_file = sqlite_path(config["SQLALCHEMY_DATABASE_URI"])
    if target.exists() and any(target.iterdir()):
        raise ServiceError(f"{target} is not empty; back up into a new folder")
    target.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(source_file, timeout=30)
    copy = sqlite3.connect(target / DATABASE_FILE)
    try:
        # pages=-1: one step under one read transaction, so writers that commit meanwhile
        # are either wholly in the copy or not at all (WAL lets them carry on).
        source.backup(copy, pages=-1)
        counts = table_counts(copy)
        revision = _revision(copy)
    finally:
        copy.close()
        source.close()
    # Folders after the database: an artifact is written before its version's row is
    # committed, so every artifact the snapshot names is already on disk.
    for key in FOLDERS:
        shutil.copytree(config[key], target / key.lower().removesuffix("_folder"))
    if (instance_path / "config.py").is_file():
        shutil.copy2(instance_path / "config.py", target / "config.py")
    manifest = {
        "labeler_version": VERSION,
        "schema_revision": revision,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tables": counts,
    }
    (target / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def restore(config: dict[str, Any], instance_path: Path, source: Path) -> dict[str, Any]:
    """Bring the backup in ``source`` into this instance, which must be empty."""
    manifest = _read_manifest(source)
    target_file = sqlite_path(config["SQLALCHEMY_DATABASE_URI"])
    _require_empty(target_file, config)
    copy = sqlite3.connect(source / DATABASE_FILE)
    target = sqlite3.connect(target_file, timeout=30)
    try:
        copy.backup(target, pages=-1)
        counts = table_counts(target)
    finally:
        target.close()
        copy.close()
    if counts != manifest["tables"]:
        raise ServiceError(f"the restored rows {counts} differ from the manifest's")
    for key in FOLDERS:
        folder = source / key.lower().removesuffix("_folder")
        if folder.is_dir():
            shutil.copytree(folder, config[key], dirs_exist_ok=True)
    if (source / "config.py").is_file() and not (instance_path / "config.py").exists():
        shutil.copy2(source / "config.py", instance_path / "config.py")
    return manifest


def _read_manifest(source: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((source / MANIFEST_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise ServiceError(f"{source} is not a labeler backup: {exc}") from None
    if not (source / DATABASE_FILE).is_file():
        raise ServiceError(f"{source} is not a labeler backup: {DATABASE_FILE} is missing")
    return manifest


def _require_empty(target_file: Path, config: dict[str, Any]) -> None:
    if target_file.exists():
        connection = sqlite3.connect(target_file)
        try:
            filled = {
                k: v for k, v in table_counts(connection).items() if v and k != "alembic_version"
            }
        finally:
            connection.close()
        if filled:
            rows = ", ".join(f"{name}: {n} rows" for name, n in filled.items())
            raise ServiceError(
                f"this instance is not empty ({rows}); restore into a new instance folder"
            )
    for key in FOLDERS:
        if any(Path(config[key]).iterdir()):
            raise ServiceError(f"{config[key]} is not empty; restore into a new instance folder")


def _revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return row[0] if row else None
