"""Task kinds: one module per kind behind :class:`TaskKind`, found by name.

``kind_for(project.task_kind)`` is the only way services, views and the form learn
what a kind does; nothing outside this package tests a kind's name.
"""

from __future__ import annotations

from labeler.core.kinds.base import (
    KEY_MAX,
    ConsensusFit,
    Figure,
    InvalidValue,
    ItemConsensus,
    KindContext,
    Predictions,
    TaskKind,
    Value,
    bounded_key,
    canonical_json,
)
from labeler.core.kinds.multi_label import MultiLabel
from labeler.core.kinds.pairwise import Pairwise
from labeler.core.kinds.rating import Rating
from labeler.core.kinds.single_label import SingleLabel
from labeler.core.kinds.spans import SpanKind

__all__ = [
    "DEFAULT_KIND",
    "KEY_MAX",
    "KINDS",
    "ConsensusFit",
    "Figure",
    "InvalidValue",
    "ItemConsensus",
    "KindContext",
    "Predictions",
    "TaskKind",
    "Value",
    "bounded_key",
    "canonical_json",
    "kind_for",
]

DEFAULT_KIND = "single_label"

#: Every kind by name, in the order the project form offers them.
KINDS: dict[str, TaskKind] = {
    kind.name: kind for kind in (SingleLabel(), MultiLabel(), Rating(), SpanKind(), Pairwise())
}


def kind_for(name: str) -> TaskKind:
    """The task kind called ``name``.

    Raises:
        InvalidValue: (field ``task_kind``) for a name no kind has.
    """
    try:
        return KINDS[name]
    except KeyError:
        raise InvalidValue(
            f"unknown task kind {name!r}; choose one of {list(KINDS)}", "task_kind"
        ) from None
