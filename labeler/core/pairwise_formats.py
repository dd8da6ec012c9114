"""Pairwise answers and items in Label Studio and Prodigy files.

The shapes, and where they were read:

- Label Studio: the ``<Pairwise name="pw" toName="text1,text2"/>`` control over two
  ``<Text>`` objects (labelstud.io/tags/pairwise.html; the "Pairwise Classification"
  template, labelstud.io/templates/pairwise_comparison, names the task's data keys
  ``text1`` and ``text2``). Its result is ``{"type": "pairwise", "from_name": "pw",
  "to_name": ..., "value": {"selected": "left" | "right"}}``; left is the first object
  of ``toName``, shown on the left (Label Studio does not shuffle the pair). Label
  Studio has no tie: the control picks a side. labeler writes a tie or "both bad", the
  strength and the order labeler showed as ``choices`` results beside it (from
  ``verdict``, ``strength`` and ``shown`` controls a config can declare), and reads
  them back by their value.
- Prodigy: the ``compare`` recipe's A/B evaluation (prodi.gy/docs/workflow-evaluation):
  a task holds an ``id``, the ``input`` (here ``{"text": prompt, "context": ...}``),
  the two outputs and ``mapping``, e.g. ``{"A": "accept", "B": "reject"}``: Prodigy maps
  A and B to the accept and reject buttons at random, so ``answer: "accept"`` prefers
  the output mapped to accept and ``"reject"`` the other; ``"ignore"`` is a skip. The
  outputs are read from ``A`` / ``B`` (``{"text": response, "system": name}``), from
  ``accept`` / ``reject`` objects as the recipe writes them, or from a choice view's
  ``options`` with ids ``A`` and ``B`` (``accept: ["A"]``). Prodigy has no tie either:
  labeler writes a tie or both-bad as ``answer: "ignore"`` with a ``verdict`` field
  (Prodigy keeps a task's extra fields), and reads ``verdict`` before ``answer``.

Values are always in A/B terms (:mod:`labeler.core.kinds.pairwise`); the importer
validates them against the project's settings like any other answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from labeler.core.interchange_base import (
    LABEL_STUDIO,
    PRODIGY,
    PRODIGY_ANSWER_KEYS,
    FormatError,
    PlainItems,
)

ROLES = ("prompt", "context", "response_a", "response_b", "system_a", "system_b")
OPTIONAL_ROLES = ("context", "system_a", "system_b")  # None when a record has none
SIDES = {"left": "A", "right": "B"}
VERDICTS = ("tie", "both_bad")
STRENGTHS = ("slightly", "much")
ORDERS = ("AB", "BA")
DEFAULT_MAPPING = {"A": "accept", "B": "reject"}
# A record's keys that are its answer or its pair, not other item fields.
_PAIR_KEYS = PRODIGY_ANSWER_KEYS | {"input", "A", "B", "reject", "mapping", "id"}
_PAIR_KEYS |= {"verdict", "strength", "shown"}


class PairwiseValues(PlainItems):
    """A/B/tie answers; items with a prompt, two responses and their systems, in the
    item fields the project's ``task_settings["fields"]`` names."""

    formats = frozenset({LABEL_STUDIO, PRODIGY})

    def __init__(self, names: Mapping[str, str] | None = None) -> None:
        self.names = {role: str((names or {}).get(role, role)) for role in ROLES}

    def configured(self, settings: Mapping[str, Any]) -> PairwiseValues:
        names = settings.get("fields")
        return PairwiseValues(names if isinstance(names, Mapping) else None)

    # -- Label Studio ------------------------------------------------------------

    def from_label_studio(
        self, results: list[Any], labels: Sequence[str], where: str
    ) -> dict[str, str] | None:
        choice: str | None = None
        extra: dict[str, str] = {}
        for n, result in enumerate(results):
            at = f"{where}.result[{n}]"
            found = self._ls_result(result, at, extra)
            if found is None:
                continue
            if choice is not None and found != choice:
                raise FormatError(f"{where}.result", f"holds two answers: {choice} and {found}")
            choice = found
        if choice is None:
            if extra:
                raise FormatError(f"{where}.result", "has no 'pairwise' result and no tie")
            return None
        return {"choice": choice, **extra}

    def _ls_result(self, result: Any, at: str, extra: dict[str, str]) -> str | None:
        kind = result.get("type") if isinstance(result, dict) else type(result).__name__
        value = result.get("value") if isinstance(result, dict) else None
        if kind not in ("pairwise", "choices") or not isinstance(value, dict):
            raise FormatError(
                at, f"a pairwise project reads 'pairwise' (and 'choices') results, not {kind!r}"
            )
        if kind == "pairwise":
            selected = value.get("selected")
            if selected not in SIDES:
                raise FormatError(f"{at}.value.selected", f"is left or right, not {selected!r}")
            return SIDES[selected]
        choices = value.get("choices")
        if not isinstance(choices, list) or len(choices) != 1:
            raise FormatError(f"{at}.value.choices", "needs exactly one choice")
        name = choices[0]
        if name in VERDICTS:
            return str(name)
        if name in STRENGTHS or name in ORDERS:
            extra["strength" if name in STRENGTHS else "shown"] = str(name)
            return None
        raise FormatError(
            f"{at}.value.choices",
            f"{name!r} is not a verdict {VERDICTS}, a strength {STRENGTHS} or an order {ORDERS}",
        )

    def to_label_studio(
        self, value: dict[str, str], from_name: str, to_name: str
    ) -> list[dict[str, Any]]:
        prompt, choice = self.names["prompt"], value["choice"]
        if choice in ("A", "B"):
            selected = "left" if choice == "A" else "right"
            results: list[dict[str, Any]] = [
                {
                    "from_name": from_name,
                    "to_name": self.names["response_a"],
                    "type": "pairwise",
                    "value": {"selected": selected},
                }
            ]
        else:
            results = [_choices("verdict", prompt, choice)]
        extras = [name for name in ("strength", "shown") if name in value]
        return results + [_choices(name, prompt, value[name]) for name in extras]

    def item_from_label_studio(self, data: dict[str, Any], where: str) -> dict[str, Any]:
        a, b = self.names["response_a"], self.names["response_b"]
        if a in data or b in data:
            return self._optional(data)
        if "text1" in data and "text2" in data:  # the Pairwise template's keys
            item = {k: v for k, v in data.items() if k not in ("text1", "text2")}
            return self._optional({**item, a: data["text1"], b: data["text2"]})
        raise FormatError(
            where, f"needs the two responses as {a!r} and {b!r} (or the template's text1, text2)"
        )

    # -- Prodigy -------------------------------------------------------------------

    def from_prodigy(
        self, record: dict[str, Any], labels: Sequence[str], where: str
    ) -> dict[str, str] | None:
        if record.get("verdict") is not None:
            choice = record["verdict"]
            if choice not in VERDICTS:
                raise FormatError(f"{where}: verdict", f"is one of {VERDICTS}, not {choice!r}")
        elif isinstance(record.get("accept"), list):  # the choice view: options A and B
            if record.get("answer", "accept") != "accept":
                return None
            accepted = record["accept"]
            if len(accepted) != 1 or accepted[0] not in ("A", "B", *VERDICTS):
                raise FormatError(f"{where}: accept", "accepts one option: A or B")
            choice = accepted[0]
        else:
            answer = record.get("answer")
            if answer in (None, "ignore"):
                return None
            if answer not in ("accept", "reject"):
                raise FormatError(f"{where}: answer", f"is accept, reject or ignore: {answer!r}")
            mapping = _mapping(record, where)
            choice = next(side for side, button in mapping.items() if button == answer)
        value = {"choice": str(choice)}
        for name in ("strength", "shown"):
            if record.get(name) is not None:
                value[name] = record[name]  # checked by the kind, like any answer
        return value

    def to_prodigy(self, value: dict[str, str], labels: Sequence[str]) -> dict[str, Any]:
        choice = value["choice"]
        record: dict[str, Any] = {"mapping": dict(DEFAULT_MAPPING), "_view_id": "compare"}
        if choice in ("A", "B"):
            record["answer"] = DEFAULT_MAPPING[choice]
        else:
            record.update(answer="ignore", verdict=choice)
        record.update({name: value[name] for name in ("strength", "shown") if name in value})
        return record

    def item_from_prodigy(self, record: dict[str, Any], where: str) -> dict[str, Any]:
        names = self.names
        given = record.get("input")
        if not isinstance(given, dict) or not isinstance(given.get("text"), str):
            raise FormatError(f"{where}: input.text", "is missing (the prompt)")
        data = {k: v for k, v in record.items() if k not in _PAIR_KEYS and not k.startswith("_")}
        data[names["prompt"]] = given["text"]
        if "context" in given:
            data[names["context"]] = given["context"]
        for side, output in _outputs(record, where).items():
            role = side.lower()
            if not isinstance(output.get("text"), str):
                raise FormatError(f"{where}: {side}.text", "is missing (the response)")
            data[names[f"response_{role}"]] = output["text"]
            if "system" in output:
                data[names[f"system_{role}"]] = output["system"]
        return self._optional(data)

    def _optional(self, data: dict[str, Any]) -> dict[str, Any]:
        """The item with every optional role present (None when the file has none): the
        importer wants each row to hold the same fields, and stores None for a missing
        optional field anyway."""
        return {**{self.names[role]: None for role in OPTIONAL_ROLES}, **data}

    def item_to_prodigy(self, data: dict[str, Any]) -> dict[str, Any]:
        names = self.names
        record = {k: v for k, v in data.items() if k not in set(names.values())}
        given = {"text": data.get(names["prompt"])}
        if names["context"] in data:
            given["context"] = data[names["context"]]
        record["input"] = given
        for side in ("A", "B"):
            role = side.lower()
            output = {"text": data.get(names[f"response_{role}"])}
            if names[f"system_{role}"] in data:
                output["system"] = data[names[f"system_{role}"]]
            record[side] = output
        return record


def _choices(from_name: str, to_name: str, choice: Any) -> dict[str, Any]:
    return {
        "from_name": from_name,
        "to_name": to_name,
        "type": "choices",
        "value": {"choices": [choice]},
    }


def _mapping(record: dict[str, Any], where: str) -> dict[str, str]:
    mapping = record.get("mapping", DEFAULT_MAPPING)
    if not isinstance(mapping, dict) or sorted(mapping.items()) not in (
        [("A", "accept"), ("B", "reject")],
        [("A", "reject"), ("B", "accept")],
    ):
        raise FormatError(f"{where}: mapping", "maps A and B to accept and reject, one each")
    return {str(k): str(v) for k, v in mapping.items()}


def _outputs(record: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    """The two responses by side, from ``A`` / ``B``, ``accept`` / ``reject`` (through
    the mapping) or ``options`` with ids A and B."""
    sides: dict[str, Any]
    if "A" in record or "B" in record:
        sides = {side: record.get(side) for side in ("A", "B")}
    elif isinstance(record.get("accept"), dict) and isinstance(record.get("reject"), dict):
        mapping = _mapping(record, where)
        sides = {side: record[mapping[side]] for side in ("A", "B")}
    elif isinstance(record.get("options"), list):
        by_id = {o.get("id"): o for o in record["options"] if isinstance(o, dict)}
        sides = {side: by_id.get(side) for side in ("A", "B")}
    else:
        raise FormatError(f"{where}: A", "is missing: a pairwise record holds responses A and B")
    for side, output in sides.items():
        if not isinstance(output, dict):
            raise FormatError(f"{where}: {side}", "must be an object with the response's text")
    return sides
