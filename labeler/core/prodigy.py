"""Prodigy / spaCy JSONL to labeler's rows, and back.

Prodigy stores one record per answer: the example's fields (``text``, ``meta``),
the answer (``accept`` options of a choice, or a binary ``label`` with ``answer``
accept / reject / ignore) and ``_annotator_id``; spaCy's text classification data
carries ``cats``. The item's id is ``meta.id`` when there is one, else the record's
``_input_hash`` (the same example answered by several people shares it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from labeler.core.interchange_base import PRODIGY_ANSWER_KEYS, FormatError, KindValues
from labeler.core.interchange_rows import Converted, Exported, row

ANSWER_KEYS = PRODIGY_ANSWER_KEYS  # Prodigy's own bookkeeping and answer keys


def read_records(
    records: Iterable[tuple[int, Any]],
    values: KindValues,
    labels: Sequence[str],
    annotators: Mapping[str, str],
) -> Converted:
    """``records``: (line number, parsed JSON) pairs. One row per record."""
    out = Converted()
    for line, record in records:
        where = f"line {line}"
        if not isinstance(record, dict):
            raise FormatError(where, "must be a JSON object")
        data = values.item_from_prodigy(record, where)
        external_id = _external_id(record, where)
        value = values.from_prodigy(record, labels, f"{where} (id {external_id})")
        if value is None and "answer" in record:
            out.skipped_answers += 1
        name = None
        if value is not None:
            source = str(record.get("_annotator_id") or "")
            name = annotators.get(source, source) or None
        out.add(line, row(external_id, data, value, name))
    return out


def _external_id(record: dict[str, Any], where: str) -> str:
    meta = record.get("meta")
    if isinstance(meta, dict) and meta.get("id") not in (None, ""):
        return str(meta["id"])
    if record.get("_input_hash") not in (None, ""):
        return str(record["_input_hash"])
    if "text" not in record and record.get("id") not in (None, ""):
        return str(record["id"])  # an A/B evaluation task (``compare``) names its example
    raise FormatError(f"{where}: meta.id", "is missing, and so is _input_hash: name the item")


def write_records(
    items: Iterable[Exported], values: KindValues, labels: Sequence[str]
) -> Iterator[dict[str, Any]]:
    """One accepted record per annotation, ``_annotator_id`` the annotator's name."""
    for item in items:
        for annotator, value, _seconds, _created in item.annotations:
            yield {
                **values.item_to_prodigy(item.data),
                "meta": _meta(item),
                **values.to_prodigy(value, labels),
                "_annotator_id": annotator,
            }


def _meta(item: Exported) -> dict[str, Any]:
    """The item's id, and its final value when it has one (not read back: labeler
    derives the final value from the votes and reviews it imports)."""
    if item.final is None:
        return {"id": item.external_id}
    return {"id": item.external_id, "final": item.final}
