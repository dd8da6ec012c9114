"""API: label issues found by confident learning, and sending the worst to review.

Reviewers only: the list shows final labels, which annotators never see."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from labeler.api.blueprint import bp, documented
from labeler.api.common import api_project, int_arg, load_body
from labeler.api.schemas import integer
from labeler.db_engine import begin_write
from labeler.extensions import db
from labeler.models import ModelVersion
from labeler.services import NotFound
from labeler.services.learning import label_quality, model_reports


class ReviewTop(Schema):
    n = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(1, label_quality.MAX_REVIEW_BATCH),
        metadata={"description": "how many of the most likely wrong labels"},
    )


def _reported_version(project) -> ModelVersion | None:
    """The version the Errors page shows: the champion, else the newest that finished
    (None before any version has looked for label issues)."""
    finished = [
        v
        for v in model_reports.versions(project)
        if v.status != "failed" and (v.metrics or {}).get("label_issues")
    ]
    champions = [v for v in finished if v.status == "champion"]
    return (champions or finished or [None])[-1]


@bp.get("/projects/<int:project_id>/label-issues")
@documented(
    errors=(401, 403, 404, 422),
    params=(("limit", integer(1, 500), "how many issues, worst first (default 100)"),),
    free_json=True,
)
def label_issues(project_id: int):
    """Final labels that are probably wrong, most likely wrong first: each with its label
    quality (0..1, the model's out-of-sample probability of the given label), the likely
    true label and the split; from the version the Errors page shows."""
    limit = int_arg("limit", 100, 1, label_quality.MAX_ISSUES_KEPT)
    project, _ = api_project(project_id, "reviewer")
    version = _reported_version(project)
    report = version.metrics["label_issues"] if version else {"skipped": "no trained model yet"}
    rows = model_reports.error_items(project, report.get("issues", [])[:limit])
    version_id = version.id if version else None
    return {
        "version_id": version_id,
        "method": report.get("method"),
        "n_checked": report.get("n_checked", 0),
        "n_flagged": report.get("n_flagged", 0),
        "estimated_errors": report.get("estimated_errors"),
        "skipped": report.get("skipped"),
        # a version trained on few more labels carries the report of the one that found it
        "found_by_version": (report.get("carried_from") or {}).get("version_id", version_id),
        "issues": [
            {
                key: row[key]
                for key in (
                    "item", "external_id", "split", "label", "likely_label", "quality",
                    "final_label", "disputed",
                )
            }
            for row in rows
        ],
    }  # fmt: skip


@bp.post("/projects/<int:project_id>/label-issues/review")
@documented(body=ReviewTop, errors=(401, 403, 404, 422), free_json=True)
def review_label_issues(project_id: int):
    """Send the ``n`` most likely wrong labels to the review queue (adjudicated items
    stay as decided)."""
    begin_write()
    project, _ = api_project(project_id, "reviewer")  # strangers learn nothing from a 422
    body = load_body(ReviewTop)
    version = _reported_version(project)
    if version is None:
        raise NotFound("no model version has looked for label issues yet")
    items = label_quality.send_top_issues_to_review(project, version, body["n"])
    flagged = sorted(item.id for item in items if item.disputed)
    db.session.commit()
    return {"in_review": flagged}
