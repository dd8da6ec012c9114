"""Per-label colours (a kind setting, ``task_settings.colours``: label -> palette 0..7).

The form and the review page draw marks with the palette's CSS classes
(``span-c0`` .. ``span-c7`` in static/kinds/spans.css), never with style attributes
from data: the pages run under a strict CSP. A kind without the setting refuses it.
"""

from __future__ import annotations

from collections.abc import Mapping

from labeler.core.kinds.base import InvalidValue
from labeler.models import Project
from labeler.services import ServiceError
from labeler.services.projects import kinds

PALETTE = 8


def has_colours(project: Project) -> bool:
    """Whether the project's kind keeps label colours (its default settings hold them)."""
    return "colours" in kinds.kind_of(project).validate_settings({}, project.label_names)


def colour_of(project: Project) -> dict[str, int]:
    """Each label's colour: the chosen one, else its place in the label set."""
    chosen = (project.task_settings or {}).get("colours") or {}
    return {name: int(chosen.get(name, i)) % PALETTE for i, name in enumerate(project.label_names)}


def set_colours(project: Project, colours: Mapping[str, object]) -> dict[str, int]:
    """Store ``colours`` (label -> 0..7; digits as text are read as numbers) after the
    kind checks them; nothing changes when one is wrong (ServiceError naming it)."""
    if not has_colours(project):
        raise ServiceError("this project's task kind has no label colours", {"field": "colours"})
    parsed: dict[str, object] = {
        label: int(value) if isinstance(value, str) and value.strip().isdigit() else value
        for label, value in colours.items()
    }
    settings = {**(project.task_settings or {}), "colours": parsed}
    try:
        clean = kinds.kind_of(project).validate_settings(settings, project.label_names)
    except InvalidValue as error:
        raise ServiceError(str(error), {"field": error.field}) from None
    project.task_settings = clean
    return dict(clean["colours"])
