"""A project's task kind, as the services use it: the kind, its context, and values.

Every service that reads or writes a label asks this module, which asks the kind
(``labeler.core.kinds``). A row stores a value as its key (the ``label`` columns) and,
when the value is more than its key, the typed value as JSON (the ``*_value`` columns).
"""

from __future__ import annotations

import hashlib
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
    project: Project,
    raw: object,
    field: str | None = None,
    item: Item | None = None,
    presented: dict[str, Any] | None = None,
) -> tuple[str, Any]:
    """``(key, stored value)`` of an answer about ``item``, checked by the project's kind
    (which may read the item, e.g. spans check their offsets against its text);
    ``presented`` is how the server laid the item out for the one answering
    (:func:`presentation`).

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
        if presented is not None:
            value = kind.record_presentation(value, presented)
    except InvalidValue as error:
        raise ServiceError(str(error), {"field": field or error.field, **error.detail}) from None
    key = kind.key(value)
    return key, (None if value == key else value)


def viewer_seed(item: Item, viewer_id: int | None) -> int:
    """A number fixed for one item and one viewer (so a layout survives a reload),
    unrelated across viewers."""
    digest = hashlib.blake2b(f"{item.id}:{viewer_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def presentation(project: Project, item: Item, viewer_id: int | None) -> dict[str, Any] | None:
    """How the project's kind lays ``item`` out for ``viewer_id`` (None: as fields)."""
    return kind_of(project).presentation(item.data, context(project), viewer_seed(item, viewer_id))


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
