"""What the model pages and the API show: versions, jobs, curves, errors.

Read-only, except :func:`send_to_review`, which flags an item for the review queue.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from labeler.extensions import db
from labeler.jobs import progress as job_progress
from labeler.models import Item, Job, ModelVersion, Project
from labeler.services import NotFound
from labeler.services.items.preview import preview
from labeler.services.learning.training_data import label_counts


def versions(project: Project, limit: int = 200) -> list[ModelVersion]:
    """The project's model versions, oldest first (the learning curve's order)."""
    rows = db.session.scalars(
        select(ModelVersion)
        .where(ModelVersion.project_id == project.id)
        .order_by(ModelVersion.id.desc())
        .limit(limit)
    )
    return list(reversed(list(rows)))


def get_version(project: Project, version_id: int) -> ModelVersion:
    version = db.session.get(ModelVersion, version_id)
    if version is None or version.project_id != project.id:
        raise NotFound(f"model version {version_id} not found in project {project.name!r}")
    return version


def recent_jobs(
    project: Project, kinds: tuple[str, ...] = ("train", "score"), limit: int = 10
) -> list[Job]:
    """The project's latest jobs of ``kinds``: training and queue ranking by default,
    so a re-rank that failed after a promotion shows where the training jobs do."""
    return list(
        db.session.scalars(
            select(Job)
            .where(Job.project_id == project.id, Job.kind.in_(kinds))
            .order_by(Job.id.desc())
            .limit(limit)
        )
    )


def version_payload(version: ModelVersion, detail: bool = False) -> dict[str, Any]:
    metrics = version.metrics or {}
    payload: dict[str, Any] = {
        "id": version.id,
        "status": version.status,
        "created_at": version.created_at.isoformat(),
        "n_labels": version.n_labels,
        "estimator": version.estimator,
        "params": version.params,
        "strategy": version.strategy,
        "error": version.error,
        "job_id": version.job_id,
        "n_test": metrics.get("n_test"),
        "accuracy": metrics.get("accuracy"),
        "macro_f1": metrics.get("macro_f1"),
        "log_loss": metrics.get("log_loss"),
        "baselines": version.baseline_metrics,
    }
    if detail:
        payload.update(metrics=metrics, train_label_counts=version.train_label_counts)
    return payload


def job_payload(job: Job) -> dict[str, Any]:
    progress, message = job_progress.current(job)  # also for runners that cannot commit it
    return {
        "id": job.id,
        "kind": job.kind,
        "project_id": job.project_id,
        "status": job.status,
        "progress": progress,
        "message": message,
        "error": job.error,
        "result": {k: v for k, v in (job.result or {}).items() if k != "traceback"},
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def curve_series(history: list[ModelVersion], metric: str) -> dict[str, list[tuple[float, float]]]:
    """(training labels, value) points per series: model, baselines, and HLP (accuracy)."""
    series: dict[str, list[tuple[float, float]]] = {
        "model": [],
        "majority": [],
        "stratified": [],
        "human level": [],
    }
    for version in history:
        metrics = version.metrics or {}
        x = version.n_labels
        if version.status == "failed" or metrics.get(metric) is None:
            continue
        series["model"].append((x, float(metrics[metric])))
        for name in ("majority", "stratified"):
            value = (version.baseline_metrics or {}).get(name, {}).get(metric)
            if value is not None:
                series[name].append((x, float(value)))
        hlp = (metrics.get("hlp") or {}).get("overall")
        if hlp is not None and metric == "accuracy":
            series["human level"].append((x, float(hlp)))
    return {name: points for name, points in series.items() if points}


def label_distribution(project: Project) -> list[dict[str, Any]]:
    """Final labels per label on each split (non-ambiguous items)."""
    train, test = label_counts(project, "train"), label_counts(project, "test")
    return [
        {"label": name, "train": train.get(name, 0), "test": test.get(name, 0)}
        for name in project.label_names
    ]


def error_items(project: Project, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Error-analysis entries joined with their items (text to show, disputed flag)."""
    ids = [int(entry["item"]) for entry in entries]
    items = (
        {
            item.id: item
            for item in db.session.scalars(
                select(Item).where(Item.project_id == project.id, Item.id.in_(ids))
            )
        }
        if ids
        else {}
    )
    rows = []
    for entry in entries:
        item = items.get(int(entry["item"]))
        if item is None:
            continue
        rows.append(
            {
                **entry,
                "external_id": item.external_id,
                "preview": preview(project, item),
                "final_label": item.final_label,
                "disputed": item.disputed,
            }
        )
    return rows


def send_to_review(project: Project, item_id: int) -> Item:
    """Flag an item for the review queue (it lists items with ``disputed`` set)."""
    item = db.session.get(Item, item_id)
    if item is None or item.project_id != project.id:
        raise NotFound(f"item {item_id} not found in project {project.name!r}")
    item.disputed = True
    return item
