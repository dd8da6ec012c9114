"""Label Studio's JSON export (a list of tasks) to labeler's rows, and back.

A task is ``{"id", "data": {fields}, "annotations": [{"completed_by", "result",
"was_cancelled", "lead_time", ...}], "predictions": [...]}``. ``completed_by`` is a user
id, or an object with ``id`` and ``email``; ``annotators`` maps either to a labeler name.
A task's prediction (the one with the highest ``score``, the first on a tie) becomes the
item's imported suggestion, which the form shows pre-selected when the project asks for
imported suggestions; an export writes an item's suggestion back as its prediction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from labeler.core.interchange_base import FormatError, KindValues
from labeler.core.interchange_rows import Converted, Exported, row

FROM_NAME, TO_NAME = "label", "text"  # the control and object names of our exports
MODEL_VERSION = "labeler-suggestion"  # the model_version of an exported suggestion


def read_tasks(
    tasks: Any, values: KindValues, labels: Sequence[str], annotators: Mapping[str, str]
) -> Converted:
    """One row per annotation (one without a label for a task nobody annotated)."""
    if not isinstance(tasks, list):
        raise FormatError("file", "a Label Studio JSON export is a list of tasks")
    out = Converted()
    for number, task in enumerate(tasks, start=1):
        where = f"task {number}"
        if not isinstance(task, dict):
            raise FormatError(where, "must be an object")
        external_id = _external_id(task, where)
        where = f"task {number} (id {external_id})"
        data = task.get("data")
        if not isinstance(data, dict) or not data:
            raise FormatError(f"{where}: data", "must be an object holding the item's fields")
        data = values.item_from_label_studio(data, f"{where}: data")
        suggestion = _prediction(task.get("predictions"), values, labels, where, out)
        labeled = False
        for n, annotation in enumerate(task.get("annotations") or []):
            at = f"{where}: annotations[{n}]"
            if not isinstance(annotation, dict):
                raise FormatError(at, "must be an object")
            if annotation.get("was_cancelled"):
                out.skipped_answers += 1
                continue
            value = values.from_label_studio(annotation.get("result") or [], labels, at)
            if value is None:
                continue
            name = _annotator(annotation.get("completed_by"), annotators, f"{at}.completed_by")
            out.add(number, row(external_id, data, value, name, suggestion))
            labeled = True
        if not labeled:
            out.add(number, row(external_id, data, None, None, suggestion))
    return out


def _prediction(
    predictions: Any, values: KindValues, labels: Sequence[str], where: str, out: Converted
) -> Any | None:
    """The value of the task's best prediction (highest ``score``, the first on a tie or
    without scores); None without one. Every prediction is checked like an answer."""
    if predictions in (None, []):
        return None
    if not isinstance(predictions, list):
        raise FormatError(f"{where}: predictions", "must be a list")
    best: tuple[float, Any] | None = None
    for n, prediction in enumerate(predictions):
        at = f"{where}: predictions[{n}]"
        if not isinstance(prediction, dict):
            raise FormatError(at, "must be an object")
        score = prediction.get("score")
        if score is not None and (
            isinstance(score, bool) or not isinstance(score, int | float) or score != score
        ):
            raise FormatError(f"{at}.score", f"must be a number, not {score!r}")
        result = prediction.get("result")
        if result is not None and not isinstance(result, list):
            raise FormatError(f"{at}.result", "must be a list of results")
        value = values.from_label_studio(result or [], labels, at)
        if value is None:
            out.predictions_ignored += 1
            continue
        rank = float("-inf") if score is None else float(score)
        if best is not None:
            out.predictions_ignored += 1
        if best is None or rank > best[0]:
            best = (rank, value)
    if best is None:
        return None
    out.suggested += 1
    return best[1]


def _external_id(task: dict[str, Any], where: str) -> str:
    meta = task.get("meta")
    if isinstance(meta, dict) and meta.get("external_id") not in (None, ""):
        return str(meta["external_id"])  # a labeler export keeps the item's own id here
    if task.get("id") in (None, ""):
        raise FormatError(f"{where}: id", "is missing")
    return str(task["id"])


def _annotator(completed_by: Any, annotators: Mapping[str, str], where: str) -> str:
    if isinstance(completed_by, dict):
        keys = [completed_by.get("email"), completed_by.get("id")]
    else:
        keys = [completed_by]
    for key in (str(k) for k in keys if k not in (None, "")):
        if key in annotators:
            return annotators[key]
    if isinstance(completed_by, dict) and completed_by.get("email"):
        return str(completed_by["email"])
    if completed_by in (None, "") or isinstance(completed_by, dict | list):
        raise FormatError(where, "names no user (an id, or an object with id or email)")
    return f"label-studio-{completed_by}"


def write_tasks(items: Iterable[Exported], values: KindValues) -> Iterable[dict[str, Any]]:
    """A task per item; each annotation's ``completed_by`` is ``{"id", "email"}`` with the
    annotator's name as the email, so an import of the file maps it back."""
    user_ids: dict[str, int] = {}
    for number, item in enumerate(items, start=1):
        annotations = []
        for annotator, value, seconds, created_at in item.annotations:
            user_id = user_ids.setdefault(annotator, len(user_ids) + 1)
            annotations.append(
                {
                    "completed_by": {"id": user_id, "email": annotator},
                    "result": values.to_label_studio(value, FROM_NAME, TO_NAME),
                    "was_cancelled": False,
                    "lead_time": seconds,
                    "created_at": created_at,
                }
            )
        yield {
            "id": number,
            "data": item.data,
            "meta": {"external_id": item.external_id}
            | ({} if item.final is None else {"final": item.final}),
            "annotations": annotations,
            "predictions": []
            if item.suggestion is None
            else [
                {
                    "model_version": MODEL_VERSION,
                    "result": values.to_label_studio(item.suggestion, FROM_NAME, TO_NAME),
                }
            ],
        }
