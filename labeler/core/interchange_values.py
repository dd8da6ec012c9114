"""How one task kind's value reads from and writes to other tools' formats.

A format converter (``label_studio``, ``prodigy``) asks the project's kind for a
:class:`KindValues` in :data:`KIND_VALUES`; it never branches on the kind's name. A
new kind plugs in by adding its class here (spans would read Label Studio's
``labels`` results and Prodigy's ``spans``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class FormatError(ValueError):
    """A record of an imported file is not what its format says; ``where`` names the
    record and the field (``"task 3 (id 17): annotations[0].result"``)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


class KindValues(Protocol):
    """One task kind's values in Label Studio results and Prodigy records."""

    def from_label_studio(
        self, results: list[Any], labels: Sequence[str], where: str
    ) -> str | None:
        """The value of one annotation's ``result`` list; None for an empty result."""
        ...

    def to_label_studio(self, value: str, from_name: str, to_name: str) -> list[dict[str, Any]]: ...

    def from_prodigy(self, record: dict[str, Any], labels: Sequence[str], where: str) -> str | None:
        """The value a Prodigy/spaCy record holds; None when it holds no answer."""
        ...

    def to_prodigy(self, value: str, labels: Sequence[str]) -> dict[str, Any]: ...


def _known(label: Any, labels: Sequence[str], where: str) -> str:
    if not isinstance(label, str) or label not in labels:
        raise FormatError(where, f"{label!r} is not in the label set ({', '.join(labels)})")
    return label


class SingleLabel:
    """One label from the set: Label Studio ``choices``; Prodigy ``choice`` (``accept``),
    binary ``label`` + ``answer``, or spaCy ``cats``."""

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


KIND_VALUES: dict[str, KindValues] = {"single_label": SingleLabel()}


def kind_values(kind: str) -> KindValues:
    """The converter of ``kind``'s values; FormatError when no format knows the kind."""
    try:
        return KIND_VALUES[kind]
    except KeyError:
        known = ", ".join(KIND_VALUES)
        raise FormatError("project", f"these formats read {known} projects, not {kind}") from None
