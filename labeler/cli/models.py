"""CLI commands for models: ``labeler train PROJECT_NAME``."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from labeler.cli.common import project_named
from labeler.extensions import db
from labeler.models import Job, ModelVersion
from labeler.services import ServiceError


@click.command("train")
@click.argument("project_name")
@with_appcontext
def train_command(project_name: str) -> None:
    """Train PROJECT_NAME's model now: fit, evaluate, score the pool.

    Runs with the configured job executor; the CLI's own executor is inline unless
    LABELER_JOB_EXECUTOR says otherwise, so the command waits for the result.
    """
    from labeler.services.learning import modeling

    project = project_named(project_name)
    try:
        job = modeling.start_training(project, reason="cli")
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    job = db.session.get(Job, job.id)
    db.session.refresh(job)
    if job.status == "failed":
        raise click.ClickException(f"training job #{job.id} failed: {job.error}")
    if job.status != "done":
        click.echo(f"Training job #{job.id} is {job.status}; follow it on the model page.")
        return
    version = db.session.get(ModelVersion, job.result.get("version_id"))
    metrics = version.metrics if version else {}
    accuracy = metrics.get("accuracy")
    summary = (
        f"accuracy {accuracy:.3f} on {metrics.get('n_test')} test items"
        if accuracy is not None
        else "no test items to evaluate on yet"
    )
    click.echo(
        f"Version #{version.id} ({version.status}) trained on {version.n_labels:,} "
        f"labels: {summary}."
    )
