"""A project's model settings: strategy, retrain cadence, estimator, test fraction, and
relabel-or-new (whether the queue may ask another label for an item already labeled)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, exists, select, update

from labeler.core import sampling
from labeler.core.estimators import ESTIMATORS, validate_params
from labeler.extensions import db
from labeler.models import Annotation, AuditEvent, Item, Project
from labeler.services import ServiceError
from labeler.services.data.import_writer import unit_hash
from labeler.services.projects import kinds

FIELDS = (
    "sampling_strategy",
    "retrain_every",
    "estimator",
    "estimator_params",
    "test_fraction",
    "random_share",
    "min_labels_per_class",
    "relabel_or_new",
)
_TRUE, _FALSE = (True, "true", "on", "1"), (False, "false", "off", "0", "")


def labeling_started(project: Project) -> bool:
    return bool(db.session.scalar(select(exists().where(Annotation.project_id == project.id))))


def _number(form: Mapping[str, Any], name: str, kind: type, low: float, high: float) -> Any:
    raw = form.get(name)
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise ServiceError(f"{name.replace('_', ' ')} must be a number", {"field": name}) from None
    if not low <= value <= high:
        raise ServiceError(
            f"{name.replace('_', ' ')} must be between {low} and {high}", {"field": name}
        )
    return value


def _params(raw: Any, estimator: str) -> dict[str, Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw.strip() or "{}")
        except json.JSONDecodeError as exc:
            raise ServiceError(
                f"estimator parameters are not valid JSON: {exc}", {"field": "estimator_params"}
            ) from None
    try:
        return validate_params(estimator, raw)
    except ValueError as exc:
        raise ServiceError(str(exc), {"field": "estimator_params"}) from None


def _flag(form: Mapping[str, Any], name: str) -> bool:
    raw = form[name]
    if isinstance(raw, bool | str):
        value = raw.strip().lower() if isinstance(raw, str) else raw
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    raise ServiceError(f"{name.replace('_', ' ')} must be true or false", {"field": name})


def parse(project: Project, form: Mapping[str, Any]) -> dict[str, Any]:
    """Validated new values for the fields present in ``form`` (absent ones are unchanged)."""
    changes: dict[str, Any] = {}
    if "sampling_strategy" in form:
        # single-label's strategies (other kinds read them as their own default) and
        # the project's kind's own (multi-label's min_margin, a rating's spread...)
        offered = list(dict.fromkeys([*sampling.STRATEGIES, *kinds.kind_of(project).strategies()]))
        if form["sampling_strategy"] not in offered:
            raise ServiceError(
                f"strategy must be one of {offered}",
                {"field": "sampling_strategy"},
            )
        changes["sampling_strategy"] = form["sampling_strategy"]
    for name, kind, low, high in (
        ("retrain_every", int, 1, 1_000_000),
        ("random_share", float, 0.0, 1.0),
        ("min_labels_per_class", int, 1, 10_000),
        ("test_fraction", float, 0.0, 0.9),
    ):
        if name in form and str(form[name]).strip() != "":
            changes[name] = _number(form, name, kind, low, high)
    if "relabel_or_new" in form:
        changes["relabel_or_new"] = _flag(form, "relabel_or_new")
    estimator = form.get("estimator") or project.estimator
    if estimator not in ESTIMATORS:
        raise ServiceError(f"estimator must be one of {sorted(ESTIMATORS)}", {"field": "estimator"})
    if "estimator" in form or "estimator_params" in form:
        changes["estimator"] = estimator
        changes["estimator_params"] = _params(form.get("estimator_params", {}), estimator)
    return changes


def update_settings(project: Project, form: Mapping[str, Any], user_id: int | None) -> list[str]:
    """Apply the valid changes in ``form``; return the names of the fields changed.

    The test fraction can change only before anyone labels: moving items between
    splits afterwards would leak evaluated items into training.
    """
    changes = {
        name: value
        for name, value in parse(project, form).items()
        if getattr(project, name) != value
    }
    if "test_fraction" in changes:
        if labeling_started(project):
            raise ServiceError(
                "the test fraction is fixed once labeling has started", {"field": "test_fraction"}
            )
        project.test_fraction = changes["test_fraction"]
        resplit(project)
    for name, value in changes.items():
        setattr(project, name, value)
    if changes:
        db.session.add(
            AuditEvent(
                project_id=project.id, user_id=user_id, action="model_settings", detail=changes
            )
        )
    return sorted(changes)


def resplit(project: Project, batch: int = 5000) -> None:
    """Assign every item's split again from the seeded hash of its external id."""
    rows = db.session.execute(
        select(Item.id, Item.external_id).where(Item.project_id == project.id)
    ).all()
    table = Item.__table__
    stmt = (
        update(table).where(table.c.id == bindparam("item_id")).values(split=bindparam("new_split"))
    )
    for start in range(0, len(rows), batch):
        db.session.execute(
            stmt,
            [
                {
                    "item_id": item_id,
                    "new_split": "test"
                    if unit_hash(project.split_seed, "split", external_id) < project.test_fraction
                    else "train",
                }
                for item_id, external_id in rows[start : start + batch]
            ],
        )
