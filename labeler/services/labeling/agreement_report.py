"""The agreement page's figures: read a project's votes, run the core, keep the result.

Figures of a large project come from an ``agreement`` job and are stored as that
job's result (plain JSON), so the page opens at once on 100,000 items and shows
the result's age. A project with fewer than :data:`INLINE_LIMIT` annotations is
computed on the spot instead: it costs milliseconds and is never stale.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from labeler import jobs
from labeler.core import agreement
from labeler.core.consensus import dawid_skene
from labeler.extensions import db
from labeler.models import Annotation, Job, Project, User, utcnow
from labeler.services.labeling import gold
from labeler.services.projects import kinds

INLINE_LIMIT = 5_000  # annotations: below this the page computes on the spot
BOOTSTRAP = 200  # resamples for alpha's 95% interval
HEATMAP_MAX = 25  # annotators shown in the kappa heatmap (the most active)
CHUNK = 50_000

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Reliability:
    """How often an annotator is right, 0..1, and how that was estimated."""

    value: float
    source: str  # "Dawid-Skene" | "model-aware consensus" | "leave-one-out"


def ratings_frame(project: Project) -> pd.DataFrame:
    """Every vote of ``project`` as a long frame: item, annotator (user id), label, seconds.

    Rows stream from the database in chunks; labels become a categorical column,
    so 300,000 votes take a few MiB.
    """
    stmt = (
        select(Annotation.item_id, Annotation.user_id, Annotation.label, Annotation.seconds)
        .where(Annotation.project_id == project.id)
        .execution_options(yield_per=CHUNK)
    )
    parts = []
    for rows in db.session.execute(stmt).partitions():
        # Column-wise from tuples: ~10x faster than a DataFrame built from Row objects.
        items, annotators, labels, seconds = zip(*rows, strict=True)
        parts.append(
            pd.DataFrame(
                {
                    "item": np.array(items, dtype=np.int64),
                    "annotator": np.array(annotators, dtype=np.int64),
                    "label": np.array(labels, dtype=object),
                    "seconds": np.array(seconds, dtype=float),  # None becomes NaN
                }
            )
        )
    if not parts:
        empty = {"item": np.int64, "annotator": np.int64, "label": object, "seconds": float}
        parts = [pd.DataFrame({name: pd.Series(dtype=kind) for name, kind in empty.items()})]
    frame = pd.concat(parts, ignore_index=True)
    frame["label"] = frame["label"].astype("category")
    return frame


def kind_votes(project: Project) -> pd.DataFrame:
    """Every vote as the project's task kind reads it: item, annotator, value, key."""
    kind = kinds.kind_of(project)
    stmt = (
        select(Annotation.item_id, Annotation.user_id, Annotation.label, Annotation.value)
        .where(Annotation.project_id == project.id)
        .execution_options(yield_per=CHUNK)
    )
    rows = [
        (item, user, kind.decode(key, value), key)
        for item, user, key, value in db.session.execute(stmt)
    ]
    return pd.DataFrame(rows, columns=["item", "annotator", "value", "key"])


def kind_figures(project: Project) -> dict[str, Any]:
    """The task kind's own agreement figures, each with how to read it."""
    kind = kinds.kind_of(project)
    votes = kind_votes(project)
    figures = kind.agreement(votes, kinds.context(project)) if len(votes) else []
    return {
        "name": kind.name,
        "title": kind.title,
        "figures": [
            {
                "name": figure.name,
                "value": figure.value,
                "how_to_read": figure.how_to_read,
                "detail": dict(figure.detail),
            }
            for figure in figures
        ],
    }


def label_order(project: Project, frame: pd.DataFrame) -> list[str]:
    """The project's label order, then any label in use that the set no longer has."""
    known = project.label_names
    extra = sorted(set(map(str, frame["label"].unique())) - set(known))
    return known + extra


def _clean(value: Any) -> Any:
    """JSON-safe: NaN becomes None, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _figure(result: agreement.AgreementResult) -> dict[str, Any]:
    return {
        "value": result.value,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "n_items": result.n_items,
        "n_annotations": result.n_annotations,
        "n_items_dropped": result.n_items_dropped,
        "reason": result.reason,
        "interpretation": result.interpretation,
    }


def _label_confusion(frame: pd.DataFrame, order: list[str]) -> dict[str, Any]:
    """How labels co-occur on the same item between two different annotators.

    Krippendorff's coincidence matrix (each pair of votes on an item, weighted
    1 / (m - 1)); the row-normalised form reads "when one annotator says row,
    another says column this share of the time".
    """
    codes = pd.Categorical(frame["label"].astype(str), categories=order).codes
    item_codes = pd.factorize(frame["item"])[0]
    counts = np.zeros((item_codes.max(initial=-1) + 1, len(order)))
    np.add.at(counts, (item_codes, codes), 1)
    per_item = counts.sum(axis=1)
    counts, per_item = counts[per_item >= 2], per_item[per_item >= 2]
    weighted = counts / (per_item - 1)[:, None]
    matrix = weighted.T @ counts - np.diag(weighted.sum(axis=0))
    totals = matrix.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(totals > 0, matrix / totals, np.nan)
    return {"labels": order, "matrix": shares.tolist(), "counts": matrix.round(2).tolist()}


def _pairwise(frame: pd.DataFrame, names: dict[int, str]) -> tuple[dict[str, Any], pd.Series]:
    """The kappa heatmap of the most active annotators, and each annotator's mean kappa."""
    pairs = agreement.pairwise_cohen_kappa(frame[["item", "annotator", "label"]])
    both = pd.concat(
        [pairs.rename(columns={"annotator_a": "who"}), pairs.rename(columns={"annotator_b": "who"})]
    )
    mean_kappa = both.groupby("who")["kappa"].mean()
    active = frame["annotator"].value_counts().index[:HEATMAP_MAX].sort_values()
    index = {annotator: i for i, annotator in enumerate(active)}
    size = len(active)
    matrix = np.full((size, size), np.nan)
    shared = np.zeros((size, size), dtype=int)
    np.fill_diagonal(matrix, 1.0)
    for a, b, n, kappa in pairs[["annotator_a", "annotator_b", "n_items", "kappa"]].itertuples(
        index=False
    ):
        if a in index and b in index:
            i, j = index[a], index[b]
            matrix[i, j] = matrix[j, i] = kappa
            shared[i, j] = shared[j, i] = n
    heatmap = {
        "annotators": [names.get(a, str(a)) for a in active],
        "matrix": matrix.tolist(),
        "shared_items": shared.tolist(),
        "n_annotators": int(frame["annotator"].nunique()),
        "n_pairs": len(pairs),
    }
    return heatmap, mean_kappa


def _annotators(
    frame: pd.DataFrame, names: dict[int, str], mean_kappa: pd.Series, ds_accuracy: pd.Series
) -> list[dict[str, Any]]:
    """Per annotator: items labeled, agreement with the others, estimated accuracy, pace."""
    loo = agreement.leave_one_out_accuracy(frame[["item", "annotator", "label"]])
    loo = loo.set_index("annotator")
    grouped = frame.groupby("annotator")
    table = pd.DataFrame({"n_items": grouped.size(), "median_seconds": grouped["seconds"].median()})
    rows = []
    for annotator, row in table.sort_values("n_items", ascending=False).iterrows():
        rows.append(
            {
                "user_id": int(annotator),
                "annotator": names.get(annotator, str(annotator)),
                "n_items": int(row["n_items"]),
                "leave_one_out": loo["accuracy"].get(annotator, np.nan),
                "leave_one_out_items": int(loo["n_items"].get(annotator, 0)),
                "mean_kappa": mean_kappa.get(annotator, np.nan),
                "dawid_skene": ds_accuracy.get(annotator, np.nan),
                "median_seconds": row["median_seconds"],
            }
        )
    return rows


def compute(project: Project, progress: Progress | None = None) -> dict[str, Any]:
    """Every figure of the agreement page, as JSON-safe values (NaN becomes None)."""
    step = progress or (lambda fraction, message: None)
    step(0.05, "reading annotations")
    frame = ratings_frame(project)
    order = label_order(project, frame)
    ratings = frame[["item", "annotator", "label"]].assign(label=frame["label"].astype(str))
    ids = [int(i) for i in frame["annotator"].unique()]
    names = dict(db.session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())
    step(0.25, "alpha with a bootstrap interval")
    alpha = agreement.krippendorff_alpha(
        ratings, level=project.label_scale, order=order, bootstrap=BOOTSTRAP, random_state=0
    )
    step(0.45, "kappa and percent agreement")
    fleiss, percent = agreement.fleiss_kappa(ratings), agreement.percent_agreement(ratings)
    per_label = agreement.per_label_agreement(ratings)
    step(0.6, "pairwise kappa")
    heatmap, mean_kappa = _pairwise(ratings, names)
    step(0.75, "Dawid-Skene estimates")
    # Gold answers anchor the fit as in the consensus job, so both pages agree.
    known = gold.answers_for(project, ratings["item"].unique().tolist())
    fit = dawid_skene(ratings, known=known) if len(ratings) else None
    ds_accuracy = fit.annotator_accuracy if fit is not None else pd.Series(dtype=float)
    step(0.9, "per-annotator table")
    result = {
        "computed_at": utcnow().isoformat(timespec="seconds"),
        "level": project.label_scale,
        "labels": order,
        "n_items": int(frame["item"].nunique()),
        "n_annotations": len(frame),
        "n_annotators": len(ids),
        "alpha": _figure(alpha),
        "fleiss": _figure(fleiss),
        "percent": _figure(percent),
        "per_label": per_label.to_dict(orient="records"),
        "pairwise": heatmap,
        "annotators": _annotators(
            ratings.assign(seconds=frame["seconds"]), names, mean_kappa, ds_accuracy
        ),
        "confusion": _label_confusion(ratings, order),
        "dawid_skene": (
            {"n_iter": fit.n_iter, "converged": fit.converged} if fit is not None else None
        ),
        "kind": kind_figures(project),
    }
    return _clean(result)


@jobs.runner("agreement")
def run_agreement_job(job: Job, progress: Progress) -> dict[str, Any]:
    project = db.session.get(Project, job.project_id)
    if project is None:
        raise LookupError(f"project {job.project_id} no longer exists")
    return compute(project, progress)


def n_annotations(project: Project) -> int:
    return (
        db.session.scalar(
            select(func.count(Annotation.id)).where(Annotation.project_id == project.id)
        )
        or 0
    )


def latest_job(project: Project, kinds: tuple[str, ...] = ("agreement",)) -> Job | None:
    """The newest finished job of ``kinds`` for ``project`` (its result holds the figures)."""
    return db.session.scalar(
        select(Job)
        .where(Job.project_id == project.id, Job.kind.in_(kinds), Job.status == "done")
        .order_by(Job.finished_at.desc(), Job.id.desc())
        .limit(1)
    )


def running_job(project: Project) -> Job | None:
    return db.session.scalar(
        select(Job)
        .where(Job.project_id == project.id, Job.kind == "agreement", Job.status.in_(jobs.ACTIVE))
        .order_by(Job.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class Report:
    """What the page shows: the figures, whether they were computed now or by a job."""

    figures: dict[str, Any] | None
    job: Job | None  # the job the figures come from (None when computed inline)
    current_annotations: int


def page_report(project: Project) -> Report:
    """Fresh figures for a small project; the latest job's for a large one (maybe None)."""
    current = n_annotations(project)
    if current < INLINE_LIMIT:
        return Report(compute(project), None, current)
    job = latest_job(project)
    return Report(job.result if job is not None else None, job, current)


def annotator_reliability(project: Project) -> dict[int, Reliability]:
    """Per user id: Dawid-Skene's estimated accuracy or model-aware consensus's annotator
    quality where known, else leave-one-out.

    Taken from the newest agreement or consensus job; a small project without one
    is computed on the spot; a large one without one gets an empty dict.
    """
    job = latest_job(project, ("agreement", "consensus"))
    if job is not None and job.result.get("annotators"):
        rows = job.result["annotators"]
    elif n_annotations(project) < INLINE_LIMIT:
        rows = _quick_annotators(project)
    else:
        return {}
    reliability = {}
    for row in rows:
        if row.get("dawid_skene") is not None:
            reliability[row["user_id"]] = Reliability(row["dawid_skene"], "Dawid-Skene")
        elif row.get("model_aware") is not None:
            reliability[row["user_id"]] = Reliability(row["model_aware"], "model-aware consensus")
        elif row.get("leave_one_out") is not None:
            reliability[row["user_id"]] = Reliability(row["leave_one_out"], "leave-one-out")
    return reliability


def _quick_annotators(project: Project) -> list[dict[str, Any]]:
    """Leave-one-out agreement per annotator only: Dawid-Skene estimates come from jobs."""
    frame = ratings_frame(project)
    if frame.empty:
        return []
    ratings = frame[["item", "annotator", "label"]].assign(label=frame["label"].astype(str))
    none = pd.Series(dtype=float)
    return _clean(_annotators(ratings.assign(seconds=frame["seconds"]), {}, none, none))
