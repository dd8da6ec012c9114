"""The plain rows that format converters hand to labeler's importer, and take from its
export. Column names start with ``_labeler_`` so that no item field can clash."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ID, LABEL, ANNOTATOR = "_labeler_id", "_labeler_label", "_labeler_annotator"
SUGGESTION = "_labeler_suggestion"  # a pre-annotation (a Label Studio prediction)
NOBODY = "imported"  # the annotator of rows that carry no label (the importer needs one)


def row(
    external_id: str,
    data: dict[str, Any],
    label: Any | None,
    annotator: str | None,
    suggestion: Any | None = None,
) -> dict[str, Any]:
    values = {**data, ID: external_id, LABEL: label, ANNOTATOR: annotator or NOBODY}
    if suggestion is not None:
        values[SUGGESTION] = suggestion
    return values


@dataclass
class Converted:
    """What a converter read: ``(record number, row)`` pairs, the item fields met (in
    order, with whether every value was text), and what it left out."""

    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    fields: dict[str, bool] = field(default_factory=dict)
    predictions_ignored: int = 0
    suggested: int = 0  # items whose prediction became their suggestion
    skipped_answers: int = 0  # cancelled, rejected or ignored answers
    _ids: set[str] = field(default_factory=set)
    _bare: set[str] = field(default_factory=set)

    def add(self, number: int, values: dict[str, Any]) -> None:
        """Keep a row. A row without a label only brings an item in: it is dropped when
        the item is already there, and replaced when a labeled row of it arrives."""
        external_id, labeled = values[ID], values[LABEL] is not None
        if not labeled and external_id in self._ids:
            return
        if labeled and external_id in self._bare:  # rare: a rejected, then accepted answer
            self.rows = [(n, r) for n, r in self.rows if r[ID] != external_id]
            self._bare.discard(external_id)
        if not labeled:
            self._bare.add(external_id)
        self._ids.add(external_id)
        for name, value in values.items():
            if not name.startswith("_labeler_"):
                text = isinstance(value, str) or value is None
                self.fields[name] = self.fields.get(name, True) and text
        self.rows.append((number, values))

    @property
    def text_fields(self) -> list[str]:
        return [name for name, text in self.fields.items() if text]

    @property
    def other_fields(self) -> list[str]:
        return [name for name, text in self.fields.items() if not text]

    def messages(self) -> list[str]:
        said = []
        if self.suggested:
            said.append(f"{self.suggested} predictions became the items' suggestions")
        if self.predictions_ignored:
            said.append(
                f"{self.predictions_ignored} other predictions were not imported "
                "(an item keeps the one with the highest score)"
            )
        if self.skipped_answers:
            said.append(f"{self.skipped_answers} cancelled or rejected answers were not imported")
        return said


@dataclass
class Exported:
    """One item for an export: its id, fields, ``(annotator, value, seconds,
    created_at)`` per annotation, its final value (None before it has one) and its
    imported suggestion (None without one)."""

    external_id: str
    data: dict[str, Any]
    annotations: list[tuple[str, Any, float | None, str | None]]
    final: Any = None
    suggestion: Any = None
