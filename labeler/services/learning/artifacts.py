"""Model artifacts on disk: ``ARTIFACT_FOLDER/project-<id>/version-<id>.skops``.

The database stores the path relative to the artifact folder, and loading only
ever reads inside that folder, so a tampered row cannot point the server at an
arbitrary file. skops refuses to load types we never save (no pickle).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app

from labeler.core.artifacts import (
    ModelArtifactError,
    load_kind_model,
    load_model,
    save_kind_model,
    save_model,
)
from labeler.core.training import TrainedModel
from labeler.models import ModelVersion

EXTENSION = "skops"


def folder() -> Path:
    return Path(current_app.config["ARTIFACT_FOLDER"]).resolve()


def relative_path(project_id: int, version_id: int) -> str:
    return f"project-{project_id}/version-{version_id}.{EXTENSION}"


def save(model: TrainedModel, project_id: int, version_id: int) -> str:
    """Write the model; return its path relative to the artifact folder."""
    relative = relative_path(project_id, version_id)
    target = folder() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, target)
    return relative


def save_kind(model: Any, kind: str, project_id: int, version_id: int) -> str:
    """Write a task kind's own model; return its path relative to the artifact folder."""
    relative = relative_path(project_id, version_id)
    target = folder() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    save_kind_model(model, kind, target)
    return relative


def load_kind(version: ModelVersion, kind: str) -> Any:
    """The fitted model of ``version`` of a project whose kind trains its own model."""
    return load_kind_path(version.artifact_path, kind)


def load_kind_path(relative: str | None, kind: str) -> Any:
    """The fitted ``kind`` model stored at ``relative`` inside the artifact folder."""
    return load_kind_model(resolve(relative), kind)


def resolve(relative: str | None) -> Path:
    """The absolute path of an artifact; ModelArtifactError if it leaves the folder."""
    if not relative:
        raise ModelArtifactError("(none)", "this version has no artifact")
    base = folder()
    path = (base / relative).resolve()
    if not path.is_relative_to(base):
        raise ModelArtifactError(relative, "outside the artifact folder; refusing to load it")
    return path


def load(version: ModelVersion) -> TrainedModel:
    """The fitted model of ``version``.

    Raises:
        ModelArtifactError: no artifact, a path outside the folder, a missing file,
            or a file that is not an artifact we wrote.
    """
    return load_path(version.artifact_path)


def load_path(relative: str | None) -> TrainedModel:
    """The fitted model stored at ``relative`` inside the artifact folder."""
    return load_model(resolve(relative))
