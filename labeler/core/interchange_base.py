"""What every format converter shares: the error naming a record and field, the
format names, and the interface a task kind's values implement (:class:`KindValues`).

:class:`PlainItems` is the default for kinds whose items are plain fields (a ``text``
and whatever else): the item's fields go in and out of a file unchanged. A kind whose
items have a shape of their own in a format (pairwise: Prodigy's ``input`` / ``A`` /
``B``) overrides its hooks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, Self


class FormatError(ValueError):
    """A record of an imported file is not what its format says; ``where`` names the
    record and the field (``"task 3 (id 17): annotations[0].result"``)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


LABEL_STUDIO, PRODIGY = "label-studio", "prodigy"

# Prodigy's own bookkeeping and answer keys: not item fields.
PRODIGY_ANSWER_KEYS = frozenset(
    {"label", "answer", "accept", "options", "cats", "spans", "tokens", "_view_id", "meta"}
)


class KindValues(Protocol):
    """One task kind's values (and items) in Label Studio results and Prodigy records."""

    #: The formats that have a shape for the kind's answers.
    formats: frozenset[str]

    def configured(self, settings: Mapping[str, Any]) -> KindValues:
        """The converter for a project with these ``task_settings``."""
        ...

    def from_label_studio(
        self, results: list[Any], labels: Sequence[str], where: str
    ) -> Any | None:
        """The value of one annotation's ``result`` list; None for an empty result."""
        ...

    def to_label_studio(self, value: Any, from_name: str, to_name: str) -> list[dict[str, Any]]: ...

    def item_from_label_studio(self, data: dict[str, Any], where: str) -> dict[str, Any]:
        """The item's fields from a task's ``data``."""
        ...

    def from_prodigy(self, record: dict[str, Any], labels: Sequence[str], where: str) -> Any | None:
        """The value a Prodigy/spaCy record holds; None when it holds no answer."""
        ...

    def to_prodigy(self, value: Any, labels: Sequence[str]) -> dict[str, Any]: ...

    def item_from_prodigy(self, record: dict[str, Any], where: str) -> dict[str, Any]:
        """The item's fields from a record (its answer and bookkeeping left out)."""
        ...

    def item_to_prodigy(self, data: dict[str, Any]) -> dict[str, Any]:
        """The record's example fields for an item."""
        ...


class PlainItems:
    """Items as plain fields: a Label Studio task's ``data`` as it is, a Prodigy record's
    keys minus its answer and bookkeeping (a record needs its ``text``)."""

    def configured(self, settings: Mapping[str, Any]) -> Self:
        return self

    def item_from_label_studio(self, data: dict[str, Any], where: str) -> dict[str, Any]:
        return data

    def item_from_prodigy(self, record: dict[str, Any], where: str) -> dict[str, Any]:
        if not isinstance(record.get("text"), str):
            raise FormatError(f"{where}: text", "is missing (each record needs its text)")
        return {
            k: v
            for k, v in record.items()
            if k not in PRODIGY_ANSWER_KEYS and not k.startswith("_")
        }

    def item_to_prodigy(self, data: dict[str, Any]) -> dict[str, Any]:
        return dict(data)
