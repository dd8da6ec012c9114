"""``labeler project create`` / ``set``: make a project of any task kind, change its scale."""

from __future__ import annotations

import json
from typing import Any

import click
from flask.cli import with_appcontext

from labeler.cli.common import project_named, unit_of_work
from labeler.core.kinds import DEFAULT_KIND, KINDS


@click.group("project")
def project_group() -> None:
    """Create projects."""


@project_group.command("create")
@click.argument("name")
@click.option(
    "--labels",
    default="",
    help="Comma-separated label set, e.g. 'spam,ham' (a rating project: its scale points); "
    "required unless the kind needs none (pairwise).",
)
@click.option(
    "--kind",
    "task_kind",
    type=click.Choice(list(KINDS)),
    default=DEFAULT_KIND,
    show_default=True,
    help="What an annotation is; fixed once the project exists.",
)
@click.option(
    "--settings",
    "task_settings",
    default="{}",
    help="The kind's settings as JSON, e.g. '{\"allow_empty\": true}' for multi_label.",
)
@click.option(
    "--scale",
    "label_scale",
    type=click.Choice(["nominal", "ordinal", "interval"]),
    default="nominal",
    show_default=True,
    help="How agreement reads the labels; a rating project's scale type.",
)
@click.option("--k", "annotations_per_item", default=1, show_default=True, type=int)
@click.option("--test-fraction", default=0.2, show_default=True, type=float)
@click.option("--guidelines", default="", help="Guidelines (markdown).")
@with_appcontext
def create_command(
    name: str,
    labels: str,
    task_kind: str,
    task_settings: str,
    label_scale: str,
    annotations_per_item: int,
    test_fraction: float,
    guidelines: str,
) -> None:
    """Create the project NAME."""
    from labeler.services.projects.store import create_project

    try:
        settings: Any = json.loads(task_settings)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--settings") from None
    if not isinstance(settings, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--settings")
    with unit_of_work():
        project = create_project(
            name,
            [{"name": label.strip()} for label in labels.split(",") if label.strip()],
            guidelines=guidelines,
            annotations_per_item=annotations_per_item,
            test_fraction=test_fraction,
            task_kind=task_kind,
            task_settings=settings,
            label_scale=label_scale,
        )
    click.echo(f"Created project {project.name!r} (id {project.id}, {project.task_kind}).")


@project_group.command("set")
@click.argument("name")
@click.option("--scale", "label_scale", type=click.Choice(["nominal", "ordinal", "interval"]))
@click.option("--k", "annotations_per_item", type=int, default=None)
@with_appcontext
def set_command(name: str, label_scale: str | None, annotations_per_item: int | None) -> None:
    """Change the project NAME's label scale or k (re-derives its consensus)."""
    from labeler.services.projects.admin import update_project_settings

    project = project_named(name)
    body: dict[str, Any] = {}
    if label_scale is not None:
        body["label_scale"] = label_scale
    if annotations_per_item is not None:
        body["annotations_per_item"] = annotations_per_item
    with unit_of_work():
        changed, _ = update_project_settings(project, body, None)
    click.echo(f"{project.name}: changed {', '.join(changed) or 'nothing'}.")
