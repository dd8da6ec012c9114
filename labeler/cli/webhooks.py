"""``labeler retry-webhooks``: send the webhook deliveries whose retry is due."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("retry-webhooks")
@with_appcontext
def retry_webhooks_command() -> None:
    """Send every webhook delivery whose retry is due (run it from cron on quiet instances)."""
    from labeler.services.projects.webhook_delivery import deliver_due

    outcome = deliver_due(None, current_app.config["WEBHOOK_JOB_SECONDS"])
    click.echo(f"{outcome['delivered']} delivered, {outcome['failed_attempts']} failed attempts.")
