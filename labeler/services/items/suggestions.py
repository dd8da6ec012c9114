"""Model suggestions (pre-annotation) in the form, and what they did to the labels.

A project may show a suggestion pre-selected in the form (``Project.suggestions``): the
serving champion's prediction (``model``), the import's suggestion column (``imported``,
``Item.suggestion_label``), or the imported one else the model's (``any``). Off by
default, because a suggestion anchors the annotator. A suggestion never comes from
another person's label: only from the model or from the file an admin imported.

The form sends back the suggestion it showed with the answer; the annotation keeps its
key and source and whether the answer equals it (``suggestion_accepted``), so
:func:`report` can compare labels given with and without one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import case, func, select

from labeler.core.artifacts import ModelArtifactError
from labeler.extensions import db
from labeler.models import Annotation, Item, ModelVersion, Project
from labeler.services import ServiceError
from labeler.services.learning import artifacts
from labeler.services.learning.training_data import data_frame, model_inputs, to_frame
from labeler.services.projects import kinds

log = logging.getLogger(__name__)

MODES = ("off", "model", "imported", "any")
SOURCES = ("model", "imported")


@dataclass(frozen=True)
class Suggestion:
    key: str
    value: Any
    source: str  # model | imported

    def payload(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source}


def check_mode(mode: object) -> str:
    """``mode`` if it is one of :data:`MODES`; else ServiceError (422) naming the field."""
    if not isinstance(mode, str) or mode not in MODES:
        raise ServiceError(f"suggestions must be one of {list(MODES)}", {"field": "suggestions"})
    return mode


def set_mode(project: Project, mode: object) -> bool:
    """Switch the project's suggestions; True when it changed."""
    checked = check_mode(mode)
    changed = project.suggestions != checked
    project.suggestions = checked
    return changed


def for_items(project: Project, items: Sequence[Item]) -> dict[int, Suggestion]:
    """The suggestion to show for each item (absent: none). Never raises for a model
    that cannot answer: the form then shows no suggestion."""
    mode = project.suggestions or "off"
    if mode == "off" or not items:
        return {}
    found: dict[int, Suggestion] = {}
    if mode in ("imported", "any"):
        for item in items:
            if item.suggestion_label is not None:
                value = kinds.read_value(project, item.suggestion_label, item.suggestion_value)
                found[item.id] = Suggestion(item.suggestion_label, value, "imported")
    if mode in ("model", "any"):
        rest = [item for item in items if item.id not in found]
        found.update(_from_model(project, rest))
    return found


def _from_model(project: Project, items: Sequence[Item]) -> dict[int, Suggestion]:
    """The champion's suggestion per item: its stored opinion where the items index job
    wrote one with the champion (label classifiers: ``Item.predicted_label``), else the
    model run on the items now (a champion not indexed yet, items imported since, kinds
    whose opinion is not stored)."""
    if not items or project.champion_id is None:
        return {}
    found: dict[int, Suggestion] = {}
    if kinds.kind_of(project).label_classifier:
        for item in items:
            if item.predicted_version_id == project.champion_id and item.predicted_label:
                _add(project, item, item.predicted_label, found)
        items = [item for item in items if item.predicted_version_id != project.champion_id]
    if items:
        _predict_now(project, items, found)
    return found


def _add(project: Project, item: Item, raw: object, found: dict[int, Suggestion]) -> None:
    try:  # the kind's own check, as for an answer (spans snap to the item's tokens)
        key, stored = kinds.check_value(project, raw, item=item)
    except ServiceError:
        return
    found[item.id] = Suggestion(key, kinds.read_value(project, key, stored), "model")


def _predict_now(project: Project, items: Sequence[Item], found: dict[int, Suggestion]) -> None:
    version = db.session.get(ModelVersion, project.champion_id)
    if version is None:
        return
    kind = kinds.kind_of(project)
    records = [dict(item.data or {}) for item in items]
    try:
        model = _model(version, kind.name, kind.label_classifier)
        X = to_frame(records, model_inputs(project)) if kind.label_classifier else None
        predicted = kind.predict(
            model, data_frame(records) if X is None else X, kinds.context(project)
        )
    except (ModelArtifactError, ValueError, KeyError) as error:
        log.warning("no suggestions from model #%s: %s", version.id, error)
        return
    for item, raw in zip(items, predicted, strict=True):
        _add(project, item, raw, found)


_lock = threading.Lock()


def _model(version: ModelVersion, kind: str, label_classifier: bool) -> Any:
    """The champion's fitted model, cached per process while its file is unchanged."""
    if label_classifier:
        from labeler.services.serving import predict as serving

        return serving.cache().get(version)
    path = artifacts.resolve(version.artifact_path)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise ModelArtifactError(version.artifact_path or "", "file not found") from exc
    models = current_app.extensions.setdefault("labeler.suggestion_models", {})
    with _lock:
        cached = models.get(version.id)
        if cached is None or cached[0] != mtime:
            cached = (mtime, artifacts.load_kind(version, kind))
            models.clear()  # one champion per project is asked; keep memory flat
            models[version.id] = cached
    return cached[1]


def shown(project: Project, item: Item, raw: object) -> Suggestion | None:
    """The suggestion the form says it showed with an answer (``{"value", "source"}``),
    checked as the kind checks an answer; None when none was shown.

    Raises:
        ServiceError: (422) naming the field, before anything is written.
    """
    if raw is None:
        return None
    if (project.suggestions or "off") == "off":
        raise ServiceError("this project shows no suggestions", {"field": "suggestion"})
    if not isinstance(raw, Mapping) or "value" not in raw:
        raise ServiceError(
            "suggestion must be an object with the value shown and its source",
            {"field": "suggestion"},
        )
    source = raw.get("source", "model")
    if source not in SOURCES:
        raise ServiceError(
            f"suggestion.source must be one of {list(SOURCES)}", {"field": "suggestion.source"}
        )
    key, stored = kinds.check_value(project, raw["value"], "suggestion.value", item)
    return Suggestion(key, kinds.read_value(project, key, stored), str(source))


def record(annotation: Annotation, suggestion: Suggestion | None, created: bool) -> None:
    """Keep on the annotation what was suggested when it was first given, and whether
    its label (after any change) still equals that suggestion."""
    if created and suggestion is not None:  # else the columns stay NULL: no UPDATE
        annotation.suggestion_label = suggestion.key
        annotation.suggestion_source = suggestion.source
    if annotation.suggestion_label is not None:
        annotation.suggestion_accepted = annotation.label == annotation.suggestion_label


def report(project: Project) -> dict[str, Any]:
    """Labels given with a suggestion against those given without one: how often the
    suggestion was taken, the seconds per label, and agreement with the final label.

    ``final_agreement`` is the share of labels equal to their item's final label (0..1,
    among items that have one): if it is higher with suggestions while acceptance is
    high, the model may be leading annotators rather than saving them time.
    """
    shown_col = Annotation.suggestion_label.is_not(None)
    agrees = case((Annotation.label == Item.final_label, 1.0), else_=0.0)
    rows = db.session.execute(
        select(
            shown_col.label("shown"),
            func.count(Annotation.id),
            func.avg(Annotation.seconds),
            func.avg(case((Annotation.suggestion_accepted.is_(True), 1.0), else_=0.0)),
            func.avg(case((Item.final_label.is_not(None), agrees), else_=None)),
            func.count(Item.final_label),
        )
        .join(Item, Item.id == Annotation.item_id)
        .where(Annotation.project_id == project.id)
        .group_by(shown_col)
    ).all()
    groups = {
        bool(row[0]): {
            "labels": int(row[1]),
            "mean_seconds": _round(row[2]),
            "accepted": _round(row[3]) if row[0] else None,
            "final_agreement": _round(row[4]),
            "with_final": int(row[5]),
        }
        for row in rows
    }
    empty = {"labels": 0, "mean_seconds": None, "accepted": None, "final_agreement": None}
    return {
        "mode": project.suggestions or "off",
        "with_suggestion": groups.get(True, {**empty, "with_final": 0}),
        "without_suggestion": groups.get(False, {**empty, "with_final": 0}),
    }


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)
