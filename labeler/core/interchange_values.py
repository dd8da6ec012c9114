"""How one task kind's value reads from and writes to other tools' formats.

A format converter (``label_studio``, ``prodigy``) asks the project's kind for a
:class:`KindValues` in :data:`KIND_VALUES`; it never branches on the kind's name. A
new kind plugs in by adding its class here. A value is the kind's JSON value
(``labeler.core.kinds``); the importer checks it against the project as any other.
A kind a format has no shape for leaves the format out of ``formats``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from labeler.core.interchange_base import LABEL_STUDIO as LABEL_STUDIO
from labeler.core.interchange_base import PRODIGY as PRODIGY
from labeler.core.interchange_base import FormatError as FormatError
from labeler.core.interchange_base import KindValues as KindValues
from labeler.core.interchange_base import PlainItems
from labeler.core.pairwise_formats import PairwiseValues


def _known(label: Any, labels: Sequence[str], where: str) -> str:
    if not isinstance(label, str) or label not in labels:
        raise FormatError(where, f"{label!r} is not in the label set ({', '.join(labels)})")
    return label


class SingleLabel(PlainItems):
    """One label from the set: Label Studio ``choices``; Prodigy ``choice`` (``accept``),
    binary ``label`` + ``answer``, or spaCy ``cats``."""

    formats = frozenset({LABEL_STUDIO, PRODIGY})

    def from_label_studio(
        self, results: list[Any], labels: Sequence[str], where: str
    ) -> str | None:
        chosen = []
        for n, result in enumerate(results):
            at = f"{where}.result[{n}]"
            if not isinstance(result, dict) or result.get("type") != "choices":
                kind = result.get("type") if isinstance(result, dict) else type(result).__name__
                raise FormatError(
                    at, f"a single-label project reads 'choices' results, not {kind!r}"
                )
            choices = (result.get("value") or {}).get("choices")
            if not isinstance(choices, list) or len(choices) != 1:
                raise FormatError(f"{at}.value.choices", "needs exactly one choice")
            chosen.append(_known(choices[0], labels, f"{at}.value.choices"))
        if len(set(chosen)) > 1:
            raise FormatError(f"{where}.result", f"holds several labels: {', '.join(chosen)}")
        return chosen[0] if chosen else None

    def to_label_studio(self, value: str, from_name: str, to_name: str) -> list[dict[str, Any]]:
        return [
            {
                "from_name": from_name,
                "to_name": to_name,
                "type": "choices",
                "value": {"choices": [value]},
            }
        ]

    def from_prodigy(self, record: dict[str, Any], labels: Sequence[str], where: str) -> str | None:
        if "cats" in record:
            return self._from_cats(record["cats"], labels, f"{where}: cats")
        if record.get("answer", "accept") != "accept":
            return None  # reject / ignore: the record says what the label is not
        if "accept" in record:
            accepted = record["accept"]
            if not isinstance(accepted, list) or len(accepted) > 1:
                raise FormatError(f"{where}: accept", "a single-label record accepts one option")
            return _known(accepted[0], labels, f"{where}: accept") if accepted else None
        if "label" in record:
            return _known(record["label"], labels, f"{where}: label")
        return None

    def _from_cats(self, cats: Any, labels: Sequence[str], where: str) -> str:
        if not isinstance(cats, dict):
            raise FormatError(where, "must be an object of label: score")
        chosen = [name for name, score in cats.items() if score in (1, 1.0, True)]
        if len(chosen) != 1:
            raise FormatError(where, f"needs exactly one label scored 1, found {len(chosen)}")
        return _known(chosen[0], labels, where)

    def to_prodigy(self, value: str, labels: Sequence[str]) -> dict[str, Any]:
        return {
            "options": [{"id": name, "text": name} for name in labels],
            "accept": [value],
            "answer": "accept",
            "_view_id": "choice",
        }


def _results_of(results: list[Any], kind: str, project: str, where: str) -> list[dict[str, Any]]:
    """``results`` checked to be objects of ``type`` ``kind`` (named in the error)."""
    for n, result in enumerate(results):
        if not isinstance(result, dict) or result.get("type") != kind:
            found = result.get("type") if isinstance(result, dict) else type(result).__name__
            raise FormatError(
                f"{where}.result[{n}]", f"a {project} project reads {kind!r} results, not {found!r}"
            )
    return results


def _value_field(result: dict[str, Any], name: str, where: str) -> Any:
    value = result.get("value")
    if not isinstance(value, dict) or name not in value:
        raise FormatError(f"{where}.value", f"needs {name!r}")
    return value[name]


def _known_all(names: Any, labels: Sequence[str], where: str) -> list[str]:
    if not isinstance(names, list):
        raise FormatError(where, "must be a list of label names")
    return [_known(name, labels, where) for name in names]


class MultiLabel(PlainItems):
    """A set of labels: Label Studio ``choices`` (``choice="multiple"``); Prodigy
    ``choice`` with several ``accept`` options, or spaCy ``cats`` (every label scored
    1 is chosen)."""

    formats = frozenset({LABEL_STUDIO, PRODIGY})

    def from_label_studio(
        self, results: list[Any], labels: Sequence[str], where: str
    ) -> list[str] | None:
        chosen: list[str] | None = None
        for n, result in enumerate(_results_of(results, "choices", "multi-label", where)):
            at = f"{where}.result[{n}]"
            names = _known_all(_value_field(result, "choices", at), labels, f"{at}.value.choices")
            chosen = [*(chosen or []), *names]
        return None if chosen is None else sorted(set(chosen), key=list(labels).index)

    def to_label_studio(
        self, value: list[str], from_name: str, to_name: str
    ) -> list[dict[str, Any]]:
        return [
            {
                "from_name": from_name,
                "to_name": to_name,
                "type": "choices",
                "value": {"choices": list(value)},
            }
        ]

    def from_prodigy(
        self, record: dict[str, Any], labels: Sequence[str], where: str
    ) -> list[str] | None:
        if "cats" in record:
            cats = record["cats"]
            if not isinstance(cats, dict):
                raise FormatError(f"{where}: cats", "must be an object of label: score")
            for name, score in cats.items():
                _known(name, labels, f"{where}: cats")
                if score not in (0, 1, True, False):
                    raise FormatError(f"{where}: cats.{name}", f"is scored {score!r}, not 0 or 1")
            return [name for name in labels if cats.get(name) in (1, True)]
        if record.get("answer", "accept") != "accept":
            return None
        if "accept" in record:
            return _known_all(record["accept"], labels, f"{where}: accept")
        return None

    def to_prodigy(self, value: list[str], labels: Sequence[str]) -> dict[str, Any]:
        return {
            "options": [{"id": name, "text": name} for name in labels],
            "accept": list(value),
            "answer": "accept",
            "_view_id": "choice",
        }


class Rating(PlainItems):
    """A point of the scale: Label Studio ``rating`` results (``value.rating``); Prodigy
    ``choice`` records whose ``options`` are the scale's points and whose ``accept``
    holds the one chosen (Prodigy has no rating interface of its own)."""

    formats = frozenset({LABEL_STUDIO, PRODIGY})

    def from_label_studio(
        self, results: list[Any], labels: Sequence[str], where: str
    ) -> int | float | None:
        ratings = []
        for n, result in enumerate(_results_of(results, "rating", "rating", where)):
            at = f"{where}.result[{n}]"
            rating = _value_field(result, "rating", at)
            if isinstance(rating, bool) or not isinstance(rating, int | float):
                raise FormatError(f"{at}.value.rating", f"must be a number, not {rating!r}")
            ratings.append(rating)
        if len(set(ratings)) > 1:
            raise FormatError(f"{where}.result", f"holds several ratings: {ratings}")
        return ratings[0] if ratings else None

    def to_label_studio(
        self, value: int | float, from_name: str, to_name: str
    ) -> list[dict[str, Any]]:
        return [
            {
                "from_name": from_name,
                "to_name": to_name,
                "type": "rating",
                "value": {"rating": value},
            }
        ]

    def from_prodigy(
        self, record: dict[str, Any], labels: Sequence[str], where: str
    ) -> int | float | None:
        if record.get("answer", "accept") != "accept" or "accept" not in record:
            return None
        accepted = record["accept"]
        if not isinstance(accepted, list) or len(accepted) > 1:
            raise FormatError(f"{where}: accept", "holds one point of the scale (a list of one)")
        if not accepted:
            return None
        return _number(accepted[0], f"{where}: accept[0]")

    def to_prodigy(self, value: int | float, labels: Sequence[str]) -> dict[str, Any]:
        points = []
        for name in labels:
            try:
                points.append(_number(name, "label"))
            except FormatError:
                continue
        return {
            "options": [{"id": point, "text": str(point)} for point in points],
            "accept": [value],
            "answer": "accept",
            "_view_id": "choice",
        }


def _number(value: Any, where: str) -> int | float:
    """A rating: a JSON number, or a text that is one (a choice id written as text)."""
    number: int | float | None = None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
        else:
            if number.is_integer() and "." not in value and "e" not in value.lower():
                number = int(number)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    if number is None or not math.isfinite(number):
        raise FormatError(where, f"must be a number, not {value!r}")
    return number


def _offset(span: dict[str, Any], name: str, where: str) -> int:
    offset = span.get(name)
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise FormatError(f"{where}.{name}", f"must be a code-point offset, not {offset!r}")
    return offset


class Spans(PlainItems):
    """Labelled stretches of the text, offsets in code points: Label Studio ``labels``
    results (``value.start``, ``end``, ``labels``, ``text``); Prodigy / spaCy ``spans``
    (``start``, ``end``, ``label``). An annotation with no span says "no entities"."""

    formats = frozenset({LABEL_STUDIO, PRODIGY})

    def from_label_studio(
        self, results: list[Any], labels: Sequence[str], where: str
    ) -> list[dict[str, Any]]:
        spans = []
        for n, result in enumerate(_results_of(results, "labels", "spans", where)):
            at = f"{where}.result[{n}].value"
            value = result.get("value")
            if not isinstance(value, dict):
                raise FormatError(at, "must be an object with start, end and labels")
            names = _known_all(value.get("labels"), labels, f"{at}.labels")
            if len(names) != 1:
                raise FormatError(f"{at}.labels", f"a span carries one label, not {len(names)}")
            start, end = _offset(value, "start", at), _offset(value, "end", at)
            spans.append({"start": start, "end": end, "label": names[0]})
        return spans

    def to_label_studio(
        self, value: list[dict[str, Any]], from_name: str, to_name: str
    ) -> list[dict[str, Any]]:
        return [
            {
                "from_name": from_name,
                "to_name": to_name,
                "type": "labels",
                "value": {"start": s["start"], "end": s["end"], "labels": [s["label"]]},
            }
            for s in value
        ]

    def from_prodigy(
        self, record: dict[str, Any], labels: Sequence[str], where: str
    ) -> list[dict[str, Any]] | None:
        if record.get("answer", "accept") != "accept" or "spans" not in record:
            return None
        raw = record["spans"]
        if not isinstance(raw, list):
            raise FormatError(f"{where}: spans", "must be a list of start, end, label")
        spans = []
        for n, span in enumerate(raw):
            at = f"{where}: spans[{n}]"
            if not isinstance(span, dict):
                raise FormatError(at, "must be an object with start, end and label")
            label = _known(span.get("label"), labels, f"{at}.label")
            spans.append(
                {
                    "start": _offset(span, "start", at),
                    "end": _offset(span, "end", at),
                    "label": label,
                }
            )
        return spans

    def to_prodigy(self, value: list[dict[str, Any]], labels: Sequence[str]) -> dict[str, Any]:
        return {
            "spans": [{"start": s["start"], "end": s["end"], "label": s["label"]} for s in value],
            "answer": "accept",
            "_view_id": "spans_manual",
        }


KIND_VALUES: dict[str, KindValues] = {
    "single_label": SingleLabel(),
    "multi_label": MultiLabel(),
    "rating": Rating(),
    "spans": Spans(),
    "pairwise": PairwiseValues(),
}


def kind_values(kind: str, fmt: str) -> KindValues:
    """The converter of ``kind``'s values in ``fmt``; FormatError when ``fmt`` has no
    shape for the kind."""
    values = KIND_VALUES.get(kind)
    if values is None or fmt not in values.formats:
        known = ", ".join(name for name, v in KIND_VALUES.items() if fmt in v.formats)
        raise FormatError("project", f"{fmt} files carry {known} projects, not {kind}")
    return values
