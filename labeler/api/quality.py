"""API: the data quality report, gold items, label-set changes, annotators over time and
guideline versions. Reviewers read; admins change."""

from __future__ import annotations

from typing import Any

from flask import g
from marshmallow import Schema, fields, validate

from labeler import jobs
from labeler.api.blueprint import bp, documented
from labeler.api.common import api_project, load_body
from labeler.api.schemas import JobOut, states
from labeler.db_engine import begin_write
from labeler.extensions import db
from labeler.models import MAX_ROW_ID, Job
from labeler.services.data import guidelines, labelset
from labeler.services.data import quality as quality_service
from labeler.services.labeling import annotator_stats, gold
from labeler.services.labeling.queue import get_item
from labeler.services.learning.model_reports import job_payload


class QualityReport(Schema):
    figures = fields.Dict(
        allow_none=True,
        metadata={
            "description": "fields, exact_duplicates, near_duplicates, final_labels, "
            "annotation_labels, gold (null until a job has run on a big project)"
        },
    )
    computed_by_job = fields.Integer(allow_none=True)


class GoldMark(Schema):
    item = fields.Integer(required=True, validate=validate.Range(1, MAX_ROW_ID))
    # The known answer in the project's task kind (a label, a list of labels...);
    # the kind checks it.
    label = fields.Raw(required=True)


class GoldChange(Schema):
    mark = fields.List(fields.Nested(GoldMark))
    unmark = fields.List(fields.Integer(validate=validate.Range(1, MAX_ROW_ID)))
    gold_rate = fields.Float(validate=validate.Range(0, 1))
    gold_alert_threshold = fields.Float(validate=validate.Range(0, 1))


class GoldAccuracy(Schema):
    user_id = fields.Integer()
    annotator = fields.String()
    n = fields.Integer()
    correct = fields.Integer()
    accuracy = fields.Float(allow_none=True, metadata={"description": "0..1"})
    ci_low = fields.Float(metadata={"description": "Wilson 95% interval"})
    ci_high = fields.Float()


class GoldItem(Schema):
    id = fields.Integer()
    external_id = fields.String()
    gold_label = fields.String()
    n_annotations = fields.Integer()


class GoldOut(Schema):
    gold_rate = fields.Float()
    gold_alert_threshold = fields.Float()
    items = fields.List(fields.Nested(GoldItem))
    annotators = fields.List(fields.Nested(GoldAccuracy))


_NAME = {"type": "string", "pattern": r"\S"}  # stripped by the server: not only spaces
_NAMES = {"type": "array", "minItems": 2}


@states(
    anyOf=[  # what each action needs (that the labels named exist is the database's)
        {
            "properties": {"action": {"enum": ["rename"]}, "label": _NAME, "to": _NAME},
            "required": ["label", "to"],
        },
        {
            "properties": {
                "action": {"enum": ["merge"]},
                "labels": {**_NAMES, "items": {"type": "string"}},
                "into": _NAME,
            },
            "required": ["labels", "into"],
        },
        {
            "properties": {
                "action": {"enum": ["split"]},
                "label": _NAME,
                "into": {**_NAMES, "items": _NAME},
                "annotations_to": _NAME,
            },
            "required": ["label", "into", "annotations_to"],
        },
        {"properties": {"action": {"enum": ["delete"]}, "label": _NAME}, "required": ["label"]},
    ]
)
class LabelSetChange(Schema):
    action = fields.String(required=True, validate=validate.OneOf(labelset.ACTIONS))
    label = fields.String()
    to = fields.String()
    labels = fields.List(fields.String())
    into = fields.Raw(
        metadata={
            "description": "merge: the new name; split: list of names",
            "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        }
    )
    annotations_to = fields.String(metadata={"description": f"a label, or {labelset.DISCARD}"})
    reason = fields.String()


class LabelSetResult(Schema):
    labels = fields.List(fields.String())
    detail = fields.Dict()
    jobs_started = fields.List(fields.String())


class Weekly(Schema):
    rows = fields.List(fields.Dict())


class Versions(Schema):
    current = fields.Integer()
    versions = fields.List(fields.Dict())
    agreement = fields.List(fields.Dict())


@bp.get("/projects/<int:project_id>/quality")
@documented(schema=QualityReport, errors=(401, 403, 404))
def quality_report(project_id: int):
    """The data quality report: computed now for small projects, else the latest job's."""
    project, _ = api_project(project_id, "reviewer")
    report = quality_service.page_report(project)
    return {"figures": report.figures, "computed_by_job": report.job.id if report.job else None}


@bp.post("/projects/<int:project_id>/quality/jobs")
@documented(202, JobOut, errors=(401, 403, 404))
def quality_job(project_id: int):
    """Compute the report in the background (1M items take about a minute)."""
    project, _ = api_project(project_id, "reviewer")
    job = jobs.start(quality_service.KIND, project.id, {}, g.api_user.id)
    return job_payload(db.session.get(Job, job.id)), 202


def _gold_payload(project) -> dict[str, Any]:
    return {
        "gold_rate": project.gold_rate,
        "gold_alert_threshold": project.gold_alert_threshold,
        "items": [
            {
                "id": i.id,
                "external_id": i.external_id,
                "gold_label": i.gold_label,
                "n_annotations": i.n_annotations,
            }
            for i in gold.gold_items(project)
        ],
        "annotators": [row.as_dict() for row in gold.accuracy(project)],
    }


@bp.get("/projects/<int:project_id>/gold")
@documented(schema=GoldOut, errors=(401, 403, 404))
def gold_figures(project_id: int):
    """Gold items, their answers and each annotator's gold accuracy (reviewer or admin)."""
    project, _ = api_project(project_id, "reviewer")
    return _gold_payload(project)


@bp.post("/projects/<int:project_id>/gold")
@documented(schema=GoldOut, body=GoldChange, errors=(400, 401, 403, 404, 422))
def change_gold(project_id: int):
    """Mark items gold (``{"mark": [{"item": 12, "label": "spam"}]}``), unmark them
    (``{"unmark": [12]}``), or set ``gold_rate`` / ``gold_alert_threshold`` (admin)."""
    api_project(project_id, "admin")
    body = load_body(GoldChange)
    begin_write()
    project, _ = api_project(project_id, "admin")
    for entry in body.get("mark", []):
        gold.mark(project, get_item(project, entry["item"]), entry["label"])
    for item_id in body.get("unmark", []):
        gold.unmark(project, get_item(project, item_id))
    for name in ("gold_rate", "gold_alert_threshold"):
        if name in body:
            setattr(project, name, body[name])
    db.session.commit()
    return _gold_payload(project)


@bp.post("/projects/<int:project_id>/labelset")
@documented(schema=LabelSetResult, body=LabelSetChange, errors=(400, 401, 403, 404, 409, 422))
def change_labelset(project_id: int):
    """Rename, merge, split or delete a label; annotations move in one transaction (admin).

    Then agreement, Dawid-Skene (if used) and training jobs start."""
    api_project(project_id, "admin")
    body = load_body(LabelSetChange)
    begin_write()
    project, _ = api_project(project_id, "admin")
    action, reason = body.pop("action"), body.pop("reason", "")
    detail = labelset.change(project, g.api_user, action, body, reason)
    db.session.commit()
    started = labelset.after_change(project, g.api_user.id)
    return {"labels": project.label_names, "detail": detail, "jobs_started": started}


@bp.get("/projects/<int:project_id>/annotators/weekly")
@documented(schema=Weekly, errors=(401, 403, 404))
def annotators_weekly(project_id: int):
    """Per annotator and week: labels, median seconds, agreement with others, gold
    accuracy (Wilson interval) and flags (fast, falling_agreement)."""
    project, _ = api_project(project_id, "reviewer")
    return {"rows": annotator_stats.weekly(project)}


@bp.get("/projects/<int:project_id>/guidelines/versions")
@documented(schema=Versions, errors=(401, 403, 404))
def guideline_versions(project_id: int):
    """Guideline versions (newest first) and agreement under each (oldest first)."""
    project, _ = api_project(project_id, "reviewer")
    return {
        "current": project.guideline_version,
        "versions": [
            {
                "version": v.version,
                "text": v.text,
                "created_by": v.created_by,
                "created_at": v.created_at.isoformat(timespec="seconds"),
            }
            for v in guidelines.versions(project)
        ],
        "agreement": guidelines.agreement_by_version(project),
    }
