"""What a prediction request must send: the fields the project's model reads, checked.

The kind says which item fields its model reads (``TaskKind.request_fields``); a
request is checked column by column on a fast path, and only a request that fails
it is walked item by item to say what is wrong where.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from labeler.core.model_inputs import ModelInputs
from labeler.models import Project
from labeler.services import Conflict, ServiceError
from labeler.services.projects.kinds import context, kind_of


def request_fields(project: Project) -> dict[str, str]:
    """The fields a prediction request sends, by name, with their type (text, numeric,
    categorical), as the project's kind reads them.

    Raises:
        Conflict: the project has no such fields (no model inputs to predict from).
    """
    inputs = ModelInputs.from_dict(project.model_inputs or {})
    types = {
        **{n: "text" for n in inputs.text},
        **{n: "numeric" for n in inputs.numeric},
        **{n: "categorical" for n in inputs.categorical},
    }
    wanted = kind_of(project).request_fields(context(project), {n: types[n] for n in inputs.fields})
    if not wanted:
        raise Conflict("the project has no model inputs, so there is nothing to predict from")
    return wanted


def frame_of(records: Sequence[Mapping[str, Any]], names: Sequence[str]) -> pd.DataFrame:
    """One column per field the model reads, from the items' data (missing: None)."""
    return pd.DataFrame({name: [record.get(name) for record in records] for name in names})


def check_rows(project: Project, rows: Sequence[Any]) -> pd.DataFrame:
    """Validate the items against the fields the project's model reads; the frame it reads.

    Every field of :func:`request_fields` must be present; text fields take a string,
    numeric ones a number or null, categorical ones a string, number, boolean or null.
    Other fields are ignored.

    Raises:
        ServiceError (422): the detail lists each bad row and field.
        Conflict (409): the project has no fields to predict from.
    """
    kinds = request_fields(project)
    if all(type(row) is dict for row in rows):
        columns = {name: [row.get(name, _MISSING) for row in rows] for name in kinds}
        # Fast path: every value has an accepted type (one pass per column, no calls).
        if all(_column_fits(kinds[name], values) for name, values in columns.items()):
            return pd.DataFrame(columns)  # column by column: a third of the cost of rows
    problems = _problems(rows, kinds)
    if problems:
        raise ServiceError(
            "some items cannot be predicted", {"problems": problems[:20], "fields": kinds}
        )
    # Valid, but past the fast path (a Mapping that is not a dict, a subclass of float).
    return pd.DataFrame({name: [row[name] for row in rows] for name in kinds})


_MISSING = object()
_SCALAR = (str, int, float, bool)


# A number the model can read: finite (inf and nan are refused, as an import refuses
# them), and an integer no larger than the largest float.
_LARGEST = int(sys.float_info.max)


def _number(v: Any) -> bool:
    kind = type(v)
    if kind is float:
        return v - v == 0.0  # False for inf, -inf and nan
    return kind is int and -_LARGEST <= v <= _LARGEST


def _column_fits(kind: str, values: list[Any]) -> bool:
    if kind == "text":
        return all(type(v) is str for v in values)
    if kind == "numeric":  # _number, written out: no call per value
        return all(
            v is None
            or (type(v) is float and v - v == 0.0)
            or (type(v) is int and -_LARGEST <= v <= _LARGEST)
            for v in values
        )
    return all(v is None or type(v) in _SCALAR for v in values)


def _problems(rows: Sequence[Any], kinds: dict[str, str]) -> list[str]:
    """What is wrong with the rows, item by item (at most 20 lines)."""
    problems: list[str] = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            problems.append(f"item {index}: expected an object of fields")
            continue
        for name, kind in kinds.items():
            if name not in row:
                problems.append(f"item {index}: missing field {name!r} ({kind})")
            elif not _fits(kind, value := row[name]):
                if (
                    kind == "numeric"
                    and isinstance(value, int | float)
                    and not isinstance(value, bool)
                ):
                    wanted = "a finite number or null"  # (no repr: 4,300 digits raise)
                    got = repr(value) if isinstance(value, float) else "a larger integer"
                else:
                    wanted, got = _WANTED[kind], type(value).__name__
                problems.append(f"item {index}: field {name!r} must be {wanted}, got {got}")
        if len(problems) >= 20:
            break
    return problems


_WANTED = {
    "text": "a string",
    "numeric": "a number or null",
    "categorical": "a string, number, boolean or null",
}


def _fits(kind: str, value: Any) -> bool:
    if kind == "text":
        return isinstance(value, str)
    if kind == "numeric":
        return value is None or (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and _number(float(value) if isinstance(value, float) else int(value))
        )
    return value is None or isinstance(value, str | int | float | bool)
