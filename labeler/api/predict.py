"""API: predictions from the serving model, rollout actions and monitoring figures.

Who may do what: any member of the project (annotator or reviewer) and admins may
predict and read the monitoring figures, as they may read the model pages; only
admins change which version serves (challenger, promote, roll back, retire).
"""

from __future__ import annotations

from flask import current_app, g, request
from marshmallow import Schema, fields, validate

from labeler.api.blueprint import bp, documented
from labeler.api.common import api_project, int_arg, json_body
from labeler.api.schemas import Error, integer, one_field_of, states
from labeler.auth import MODEL_INTERNALS_ROLE
from labeler.db_engine import begin_write, reads_only
from labeler.extensions import db
from labeler.models import ModelVersion
from labeler.services import ServiceError
from labeler.services.learning import model_reports as reports
from labeler.services.learning import scoring_job
from labeler.services.serving import monitoring, prediction_log, rollout
from labeler.services.serving import predict as serving


@states(anyOf=one_field_of("item", "items"))
class PredictIn(Schema):
    item = fields.Dict(metadata={"description": "one item's fields (send item or items)"})
    items = fields.List(
        fields.Dict(),
        metadata={"description": "a batch of items (at least one)", "minItems": 1},
    )
    request_id = fields.String(
        metadata={"description": "routes the same id to the same version (also X-Request-ID)"}
    )


class Prediction(Schema):
    label = fields.String(
        metadata={
            "description": "the predicted value's key: the label, or e.g. a label "
            "set's JSON, a rating, a pairwise choice (A or B)"
        }
    )
    value = fields.Raw(
        metadata={
            "description": "kinds whose value says more than its key: the value "
            '(a list of labels, spans, {"choice": ...})'
        }
    )
    confidence = fields.Float(
        metadata={
            "description": "0..1, how sure the model is of the whole value (a "
            "label: its probability)"
        }
    )
    probabilities = fields.Dict(
        keys=fields.String(),
        values=fields.Float(),
        metadata={"description": "single and multi-label: probability of each label"},
    )
    probability_a = fields.Float(metadata={"description": "pairwise: P(A better than B)"})
    score = fields.Float(metadata={"description": "rating: the prediction before snapping"})
    spread = fields.Float(
        metadata={"description": "rating: the bootstrap committee's standard deviation"}
    )
    model_version_id = fields.Integer()


class PredictOut(Prediction):
    predictions = fields.List(
        fields.Nested(Prediction), metadata={"description": "batch requests: one per item"}
    )
    fallback = fields.Boolean(metadata={"description": "answered by an earlier champion"})


class RolloutIn(Schema):
    reason = fields.String(metadata={"description": "why: kept in the audit trail"})
    share = fields.Float(
        validate=validate.Range(0, 1, min_inclusive=False),
        metadata={"description": "challenger only: canary share, 0..1"},
    )


class RolloutOut(Schema):
    action = fields.String()
    version_id = fields.Integer()
    champion_id = fields.Integer(allow_none=True)
    status = fields.String()
    traffic_share = fields.Float()
    audit_id = fields.Integer()


def _rows(body: dict) -> list:
    if "items" in body:
        rows = body["items"]
        if not isinstance(rows, list):
            raise ServiceError("items must be a list of objects", {"field": "items"})
        if not rows:
            raise ServiceError("the batch is empty: send at least one item", {"field": "items"})
        limit = int(current_app.config.get("PREDICT_BATCH_MAX", 5000))
        if len(rows) > limit:
            raise ServiceError(
                f"the batch has {len(rows):,} items; at most {limit:,} at once",
                {"field": "items", "max": limit},
            )
        return rows
    if "item" in body:
        if not isinstance(body["item"], dict):
            raise ServiceError("item must be an object of fields", {"field": "item"})
        return [body["item"]]
    raise ServiceError('send {"item": {...}} or {"items": [...]}', {"field": "item"})


@bp.post("/projects/<int:project_id>/predict")
@documented(200, PredictOut, body=PredictIn, errors=(400, 401, 404, 409, 422))
@bp.alt_response(503, schema=Error, description="no model can be loaded")
@reads_only  # writes go to the prediction log's own thread; never wait for writers
def predict(project_id: int):
    """Predict one item (``{"item": {...}}``) or a batch (``{"items": [...]}``) with the
    champion, or the challenger for its canary share: label, probabilities, version."""
    project, _ = api_project(project_id)
    body = json_body()
    request_id = body.get("request_id", request.headers.get("X-Request-ID"))
    if request_id is not None and not isinstance(request_id, str):
        raise ServiceError("request_id must be a string", {"field": "request_id"})
    batch = "items" in body
    frame = serving.check_rows(project, _rows(body))
    served = serving.predict(project, frame, request_id)
    serving.log_predictions(project_id, served)  # written by the log's own thread
    monitoring.maybe_check(project)
    rows = served.rows()
    payload = {"predictions": rows} if batch else dict(rows[0])
    payload["model_version_id"] = served.version_id
    if served.fallback:
        payload["fallback"] = True
    return payload


def _rollout(project_id: int, version_id: int, action: str):
    api_project(project_id, "admin")  # who may ask comes before what they ask
    body = json_body() if request.content_length else {}
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        raise ServiceError("reason must be a string", {"field": "reason"})
    begin_write()  # one write transaction: the switch is atomic
    project, _ = api_project(project_id, "admin")
    version = reports.get_version(project, version_id)
    user_id = g.api_user.id
    champion_before = project.champion_id
    event = rollout.act(project, version, action, user_id, reason, body.get("share", 0.1))
    db.session.commit()
    if project.champion_id != champion_before:  # the queue follows the new champion
        scoring_job.start_rescore(project, user_id, f"{action} of model #{version_id}")
    version = db.session.get(ModelVersion, version_id)
    return {
        "action": event.action,
        "version_id": version.id,
        "champion_id": project.champion_id,
        "status": version.status,
        "traffic_share": version.traffic_share,
        "audit_id": event.id,
    }


_ROLLOUT_ERRORS = (400, 401, 404, 409, 422)


@bp.post("/projects/<int:project_id>/models/<int:version_id>/challenger")
@documented(200, RolloutOut, body=RolloutIn, errors=_ROLLOUT_ERRORS)
def make_challenger(project_id: int, version_id: int):
    """Admin: serve ``share`` (default 0.1) of prediction requests from this version."""
    return _rollout(project_id, version_id, "challenger")


@bp.post("/projects/<int:project_id>/models/<int:version_id>/promote")
@documented(200, RolloutOut, body=RolloutIn, errors=_ROLLOUT_ERRORS)
def promote_model(project_id: int, version_id: int):
    """Admin: make this version the champion (loaded first; the old one is retired)."""
    return _rollout(project_id, version_id, "promote")


@bp.post("/projects/<int:project_id>/models/<int:version_id>/rollback")
@documented(200, RolloutOut, body=RolloutIn, errors=_ROLLOUT_ERRORS)
def rollback_model(project_id: int, version_id: int):
    """Admin: a challenger stops serving; a champion hands back to the one it replaced."""
    return _rollout(project_id, version_id, "rollback")


@bp.post("/projects/<int:project_id>/models/<int:version_id>/retire")
@documented(200, RolloutOut, body=RolloutIn, errors=_ROLLOUT_ERRORS)
def retire_model(project_id: int, version_id: int):
    """Admin: take a candidate or challenger out of service."""
    return _rollout(project_id, version_id, "retire")


@bp.get("/projects/<int:project_id>/monitoring")
@documented(
    free_json=True,
    errors=(401, 404, 422),
    params=(("hours", integer(1, 720), "window, hours back (default 24)"),),
)
def monitoring_figures(project_id: int):
    """Latency p50/p95 and throughput per version, class mix vs training mix (PSI),
    confidence drift, production accuracy, and open alerts."""
    prediction_log.flush_for_reading()
    project, _ = api_project(project_id, MODEL_INTERNALS_ROLE)
    found = monitoring.figures(project, int_arg("hours", 24, 1, 720))
    found["alerts"] = [
        {
            "id": a.id,
            "kind": a.kind,
            "message": a.message,
            "value": a.value,
            "threshold": a.threshold,
            "created_at": a.created_at.isoformat(),
        }
        for a in monitoring.open_alerts(project)
    ]
    return found
