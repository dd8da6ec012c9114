"""What the CLI's commands share: finding a project by name, and one unit of work.

A command is a handler like a request: it parses, calls a service and commits once;
a :class:`~labeler.services.ServiceError` rolls everything back and exits with the
service's message (and status 1), never with a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Project
from labeler.services import ServiceError


def project_named(name: str) -> Project:
    """The project called ``name``; a ClickException saying so when there is none."""
    project = db.session.scalar(select(Project).where(Project.name == name))
    if project is None:
        raise click.ClickException(f"no project named {name!r}")
    return project


@contextmanager
def unit_of_work(prefix: str = "", suffix: str = "") -> Iterator[None]:
    """Commit what the block did; on a ServiceError roll it all back and fail with
    ``prefix + message + suffix`` (e.g. suffix ". Nothing was imported.")."""
    try:
        yield
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(f"{prefix}{exc.message}{suffix}") from None
    db.session.commit()
