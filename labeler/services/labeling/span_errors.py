"""Error analysis of annotators' answers against the final answers or the gold ones,
for kinds that offer it (spans: missed, spurious, mislabeled, mis-bounded; confusion).

Reviewers and admins only: it shows every annotator's answers beside the final ones.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Annotation, Item, Project, User
from labeler.services import ServiceError
from labeler.services.projects import kinds

REFERENCES = ("final", "gold")


def annotation_errors(project: Project, reference: str = "final") -> dict[str, Any] | None:
    """The kind's error report over items that have a ``reference`` answer (the final
    one: consensus or adjudication; or gold), with each example item's external id;
    None when the project's kind offers no error analysis."""
    if reference not in REFERENCES:
        raise ServiceError(
            f"reference must be one of {', '.join(REFERENCES)}", {"field": "reference"}
        )
    kind = kinds.kind_of(project)
    if kind.annotation_errors([], kinds.context(project)) is None:
        return None
    key, value = (
        (Item.final_label, Item.final_value)
        if reference == "final"
        else (Item.gold_label, Item.gold_value)
    )
    stmt = (
        select(User.username, Item.id, key, value, Annotation.label, Annotation.value)
        .join(Item, Item.id == Annotation.item_id)
        .join(User, User.id == Annotation.user_id)
        .where(Item.project_id == project.id, key.is_not(None))
        .order_by(Item.id, Annotation.id)
    )
    rows = [
        (name, item_id, kind.decode(ref_key, ref_value), kind.decode(label, answer))
        for name, item_id, ref_key, ref_value, label, answer in db.session.execute(stmt)
    ]
    report = kind.annotation_errors(rows, kinds.context(project))
    assert report is not None
    shown = {i for part in _parts(report) for ids in part["examples"].values() for i in ids}
    names = dict(
        db.session.execute(select(Item.id, Item.external_id).where(Item.id.in_(shown))).all()
    )
    report["reference"] = reference
    report["external_ids"] = {str(i): names[i] for i in sorted(shown)}
    return report


def _parts(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [report["overall"], *report["annotators"].values()]
