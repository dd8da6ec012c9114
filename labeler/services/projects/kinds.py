"""A project's task kind, as the services use it: the kind, its context, and values.

Every service that reads or writes a label asks this module, which asks the kind
(``labeler.core.kinds``). A row stores a value as its key (the ``label`` columns) and,
when the value is more than its key, the typed value as JSON (the ``*_value`` columns).
"""

from __future__ import annotations

from typing import Any

from labeler.core.kinds import InvalidValue, KindContext, TaskKind, Value, kind_for
from labeler.models import Item, Project
from labeler.services import ServiceError


def kind_of(project: Project) -> TaskKind:
    return kind_for(project.task_kind or "single_label")


def context(project: Project) -> KindContext:
    """What the project's kind may know of it (labels, scale, settings, dispute rule)."""
    return KindContext(
        labels=tuple(project.label_names),
        label_scale=project.label_scale,
        settings=dict(project.task_settings or {}),
        dispute_threshold=project.dispute_threshold,
        require_unanimity=project.require_unanimity,
    )


def check_value(
    project: Project, raw: object, field: str | None = None, item: Item | None = None
) -> tuple[str, Any]:
    """``(key, stored value)`` of an answer about ``item``, checked by the project's kind
    (which may read the item, e.g. spans check their offsets against its text).

    The stored value is None when it equals its key (a single label), so such rows
    read exactly as before kinds existed.

    Raises:
        ServiceError: (422) with the kind's message and the field it names.
    """
    kind = kind_of(project)
    checking = context(project)
    if item is not None:
        # the fields as the form shows them: the project's text fields first
        shown = {
            name: (item.data or {}).get(name) for name in (project.display or {}).get("text", [])
        }
        checking = kind.for_item(checking, {**shown, **(item.data or {})})
    try:
        value = kind.validate(raw, checking)
    except InvalidValue as error:
        raise ServiceError(str(error), {"field": field or error.field, **error.detail}) from None
    key = kind.key(value)
    return key, (None if value == key else value)


def stored(key: str, value: Any) -> Any:
    """The JSON to store beside ``key`` for a canonical ``value`` (None when the same)."""
    return None if value == key else value


def read_value(project: Project, key: str | None, value: Value | None) -> Value | None:
    """The typed value of a stored (key, value) pair."""
    return kind_of(project).decode(key, value)


def display(project: Project, key: str | None, value: Value | None) -> str:
    """A short human rendering of a stored (key, value) pair."""
    kind = kind_of(project)
    return kind.display(kind.decode(key, value))
