"""API: training on demand, model versions, and job status."""

from __future__ import annotations

from flask import g

from labeler import jobs
from labeler.api.blueprint import bp, documented
from labeler.api.common import api_project
from labeler.auth import MODEL_INTERNALS_ROLE, project_role
from labeler.extensions import db
from labeler.models import Job, Project
from labeler.services import NotFound
from labeler.services.learning import model_reports as reports
from labeler.services.learning import modeling


@bp.post("/projects/<int:project_id>/train")
@documented(202, errors=(401, 403, 404, 409), free_json=True)
def train_project(project_id: int):
    """Queue a training job (or return the active one): 202 with the job to poll."""
    project, _ = api_project(project_id, "reviewer")
    job = modeling.start_training(project, g.api_user.id)
    job = db.session.get(Job, job.id)  # the inline executor may have finished it
    return reports.job_payload(job), 202


@bp.get("/projects/<int:project_id>/models")
@documented(free_json=True)
def list_models(project_id: int):
    """Every version, oldest first, with test-split metrics and baselines (reviewers)."""
    project, _ = api_project(project_id, MODEL_INTERNALS_ROLE)
    return {
        "champion_id": project.champion_id,
        "models": [reports.version_payload(v) for v in reports.versions(project)],
    }


@bp.get("/projects/<int:project_id>/models/<int:version_id>")
@documented(free_json=True)
def show_model(project_id: int, version_id: int):
    """One version with all its metrics (per class, confusion matrix, errors, HLP);
    reviewers and admins only, as the figures follow from other people's labels."""
    project, _ = api_project(project_id, MODEL_INTERNALS_ROLE)
    return reports.version_payload(reports.get_version(project, version_id), detail=True)


@bp.get("/jobs/<int:job_id>")
@documented(free_json=True)
def show_job(job_id: int):
    """A job's status and progress (0..1), for members of its project; its result and
    error only for the roles its kind allows (annotators see none: results follow from
    other people's labels)."""
    job = db.session.get(Job, job_id)
    project = db.session.get(Project, job.project_id) if job and job.project_id else None
    allowed = job is not None and (
        (project is not None and project_role(g.api_user, project) is not None)
        or g.api_user.is_admin
        or job.created_by == g.api_user.id
    )
    if not allowed:
        raise NotFound(f"job {job_id} not found")
    payload = reports.job_payload(job)
    role = project_role(g.api_user, project) if project is not None else None
    if (
        not g.api_user.is_admin
        and _RANK.get(role or "", 0) < _RANK[jobs.RESULT_ROLE.get(job.kind, "admin")]
    ):
        payload["result"], payload["error"] = None, None  # status and progress only
        payload["message"] = ""
    return payload


_RANK = {"annotator": 1, "reviewer": 2, "admin": 3}
