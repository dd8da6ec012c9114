"""The training job: fit on final labels, evaluate on the test split, score the pool.

One job kind, ``train``. A run creates a :class:`~labeler.models.ModelVersion`
(status ``training``), fits the project's estimator on final-labeled train items,
scores it on final-labeled test items against the baselines (majority, stratified,
the champion it would replace) and human-level performance, stores the artifact
under ``ARTIFACT_FOLDER/project-<id>/version-<id>.skops``, then, unless it is worse
than the champion on the test split, scores the open train pool, writes the
queue ranks and becomes the champion. A failure marks the version ``failed`` with
its error; the previous champion and its scores stay as they were.

A project whose task kind is not a label classifier (``TaskKind.label_classifier``
False: multi-label, rating, spans, pairwise) trains through its kind instead
(:func:`_train_kind_version`): the kind's ``train`` on final values, its ``evaluate``,
``baselines`` and ``human_level`` on the test split, its own artifact, promotion by
its headline metric (``rollout.kind_verdict``) and the pool ranked by its
``uncertainty`` (``scoring.rank_open_pool_by_kind``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, select

from labeler import jobs
from labeler.core import sampling, training
from labeler.core.model_inputs import ModelInputs
from labeler.db_engine import begin_write
from labeler.extensions import db
from labeler.models import Job, ModelVersion, Project
from labeler.services import Conflict, ServiceError
from labeler.services.labeling.consensus_job import BEFORE_TRAINING
from labeler.services.learning import artifacts, label_quality, model_evaluation, scoring
from labeler.services.learning.label_quality import MODEL_AWARE
from labeler.services.learning.training_data import (
    LabeledFrame,
    final_labeled,
    final_valued,
    label_counts,
    model_inputs,
    test_votes,
)
from labeler.services.projects import webhooks
from labeler.services.projects.kinds import context as kind_context
from labeler.services.projects.kinds import kind_of
from labeler.services.serving import rollout

KIND = "train"
AUTOMATIC = "automatic"  # the reason of a retrain that retrain_every started


def min_examples(estimator: str) -> int:
    """Final train labels each label needs before ``estimator`` can learn it."""
    return training.MIN_EXAMPLES_PER_CLASS.get(estimator, 1)


def trainable_labels(counts: dict[str, int], estimator: str) -> list[str]:
    """Labels with enough final train labels for the estimator to learn them."""
    return sorted(label for label, n in counts.items() if n >= min_examples(estimator))


def _active_training(project_id: Any) -> Any:
    """The WHERE of a project's queued or running training job (at most one)."""
    return and_(Job.kind == KIND, Job.project_id == project_id, Job.status.in_(jobs.ACTIVE))


def active_job(project: Project) -> Job | None:
    return db.session.scalar(select(Job).where(_active_training(project.id)))


def start_training(project: Project, user_id: int | None = None, reason: str = "manual") -> Job:
    """Queue a training job for ``project`` (or return the one already queued or running).

    Commits (through ``jobs.start``): call it from a handler, CLI command or job.

    Raises:
        ServiceError: fewer than 2 labels have 2+ final labels on train items.
    """
    running = active_job(project)
    if running is not None:
        return running
    if not kind_of(project).label_classifier:
        n_final = sum(label_counts(project, "train").values())
        if n_final < 2:
            raise Conflict(
                f"training needs final answers on at least 2 train items; so far {n_final}"
            )
    elif len(usable := trainable_labels(label_counts(project, "train"), project.estimator)) < 2:
        raise Conflict(
            f"training needs final labels of at least 2 different labels on train items "
            f"({min_examples(project.estimator)}+ each); labels ready so far: {usable or 'none'}"
        )
    project.labels_since_training = 0
    if project.consensus_method == "dawid_skene" or (
        project.consensus_method == MODEL_AWARE and project.relabel_or_new
    ):
        # Refresh the project-wide consensus first: the executor runs jobs in order, so
        # the model trains on Dawid-Skene's final labels, never on a request's work.
        # Relabel-or-new: a second vote that disagrees ties on submit; the last version's
        # probabilities settle it, or the item would miss this training.
        jobs.start("consensus", project.id, {"reason": BEFORE_TRAINING}, user_id)
    return jobs.start(KIND, project.id, {"reason": reason}, user_id)


@cache
def _training_state() -> Any:
    """The project's retrain settings and counter, and its active training job's id."""
    active = select(Job.id).where(_active_training(Project.id)).limit(1).scalar_subquery()
    return select(Project.retrain_every, Project.labels_since_training, active).where(
        Project.id == bindparam("project_id")
    )


def maybe_start_training(project: Project) -> int | None:
    """Start a training job when ``retrain_every`` new final train labels have arrived
    and, for the first model, every label has ``min_labels_per_class`` train labels;
    returns the id of the training job queued or running (None: none is due).

    Call it right after the handler's commit that may have added final labels (the
    annotation API, the review queue). Commits when it starts a job.
    """
    # While a training job is queued or running, the counter stays past retrain_every (the
    # labels wait for the next job), so every submit comes this far; one read answers it,
    # without a write turn. It took one per submit for most of a run under load, as many
    # write turns as the labels themselves (benchmarks/README.md, issue 21, tenth look).
    retrain_every, since, running = db.session.execute(
        _training_state(), {"project_id": project.id}
    ).one()
    if retrain_every <= 0 or since < retrain_every:
        return None
    if running is not None:
        return running
    db.session.refresh(project)
    cold_start_counts = kind_of(project).label_classifier  # labels of a label set
    if (
        cold_start_counts
        and project.champion_id is None
        and sampling.is_cold_start(
            label_counts(project, "train"), project.label_names, project.min_labels_per_class
        )
    ):
        return None  # a first model only once every label has its minimum of train labels
    begin_write()  # SQLite: the read above cannot become the job's write once others commit
    try:
        return start_training(project, reason=AUTOMATIC).id
    except ServiceError:
        return None  # too few labels per class yet; the counter keeps growing


def _trained_event(version: ModelVersion, promoted: bool) -> dict[str, Any]:
    metrics = version.metrics or {}
    return {
        "version_id": version.id,
        "n_labels": version.n_labels,
        "accuracy": metrics.get("accuracy"),
        "macro_f1": metrics.get("macro_f1"),
        "promoted_automatically": promoted,
    }


@contextmanager
def _writing() -> Iterator[None]:
    """One short write transaction. On SQLite a read transaction cannot become a write
    once an annotator has committed, so every write starts as a write; ORM objects are
    changed only inside these blocks (``begin_write`` discards pending changes)."""
    begin_write()
    yield
    db.session.commit()


def _reporter(progress: jobs.Progress, low: float = 0.0, high: float = 1.0) -> jobs.Progress:
    """``progress`` scaled into [low, high], each report in its own write transaction."""

    def report(fraction: float, message: str = "") -> None:
        begin_write()
        progress(low + (high - low) * fraction, message)

    return report


@jobs.runner(KIND)
def run_training(job: Job, progress: jobs.Progress) -> dict[str, Any]:
    """The job runner: see the module docstring. Re-raises after marking the version failed."""
    with _writing():
        project = db.session.get(Project, job.project_id)
        if project is None:
            raise ValueError(f"project {job.project_id} no longer exists")
        version = ModelVersion(
            project_id=project.id,
            job_id=job.id,
            estimator=project.estimator,
            params=dict(project.estimator_params or {}),
            strategy=project.sampling_strategy,
            status="training",
        )
        db.session.add(version)
        db.session.flush()
        version_id = version.id
    try:
        if not kind_of(project).label_classifier:
            return _train_kind_version(project, version, progress)
        # Only a retrain the labels started may carry the last label issues: one a person
        # (or drift, or a label-set change) asked for cross-validates again.
        carry = (job.params or {}).get("reason") == AUTOMATIC
        result = _train_version(project, version, progress, carry_label_issues=carry)
    except Exception as exc:
        with _writing():
            failed = db.session.get(ModelVersion, version_id)
            failed.status, failed.error = "failed", f"{type(exc).__name__}: {exc}"
        raise
    begin_write()
    if db.session.get(Project, job.project_id).consensus_method == MODEL_AWARE:
        # The new out-of-sample probabilities re-weigh every item's votes.
        jobs.start("consensus", job.project_id, {"reason": "after training"}, job.created_by)
    return result


def usable_train(project: Project, notes: list[str], estimator: str | None = None) -> LabeledFrame:
    """Final-labeled train items, without labels too rare for ``estimator`` (default:
    the project's) to learn; what is left out is said in ``notes``."""
    estimator = estimator or project.estimator
    train = final_labeled(project, "train")
    counts = label_counts(project, "train")
    usable = trainable_labels(counts, estimator)
    left_out = sorted(set(counts) - set(usable))
    if left_out:
        notes.append(
            f"left out labels with fewer than {min_examples(estimator)} train examples: {left_out}"
        )
        keep = [label in usable for label in train.y]
        train = LabeledFrame(
            train.item_ids[keep], train.X[keep].reset_index(drop=True), train.y[keep]
        )
    return train


def _train_version(
    project: Project,
    version: ModelVersion,
    progress: jobs.Progress,
    carry_label_issues: bool = False,
) -> dict[str, Any]:
    report = _reporter(progress)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    notes: list[str] = []
    report(0.02, "reading final labels")
    train = usable_train(project, notes)
    model = training.train(
        train.X,
        train.y,
        model_inputs(project),
        project.estimator,
        project.estimator_params or {},
        random_state=project.id,
    )
    timings["fit"] = time.perf_counter() - clock
    report(0.3, f"fitted on {len(train):,} labels; evaluating on the test split")
    clock = time.perf_counter()
    champion = db.session.get(ModelVersion, project.champion_id) if project.champion_id else None
    metrics, baselines, found = model_evaluation.evaluate_version(
        project, model, train, champion, notes, carry_label_issues
    )
    timings["evaluate"] = time.perf_counter() - clock
    clock = time.perf_counter()
    artifact_path = artifacts.save(model, project.id, version.id)
    artifacts.load_path(artifact_path)  # what would serve must load: a bad file fails here
    timings["save"] = time.perf_counter() - clock
    with _writing():
        version.n_labels, version.params = len(train), dict(model.params)
        version.train_label_counts = dict(Counter(str(label) for label in train.y))
        version.artifact_path, version.baseline_metrics = artifact_path, baselines
        version.metrics = {**metrics, "notes": notes + list(model.notes), "timings": timings}
        version.status = "candidate"
        if not isinstance(found, str):
            label_quality.store_probabilities(version, found)
        # DESIGN.md's promotion policy: automatic only when the version beats the
        # champion and the baselines on the test split; otherwise a person decides.
        # No test-split score means no evaluation: such a version never serves by
        # itself (the queue stays in random order meanwhile); the model page says why.
        verdict = rollout.policy_verdict(version, champion, rollout.promotion_margin())
        _record_verdict(project, version, verdict)
    return _settle(
        project,
        version,
        verdict,
        timings,
        lambda report: scoring.rank_open_pool(project, model, train, version.id, report),
        progress,
    )


def kind_model_settings(project: Project) -> dict[str, Any]:
    """What a kind's ``train`` takes (``TaskKind.train``): the model inputs (none set is
    fine for kinds that read their own fields), estimator, params and seed."""
    return {
        "inputs": ModelInputs.from_dict(project.model_inputs or {}),
        "estimator": project.estimator,
        "params": dict(project.estimator_params or {}),
        "random_state": project.id,
        "grid_search": False,
    }


def _train_kind_version(
    project: Project, version: ModelVersion, progress: jobs.Progress
) -> dict[str, Any]:
    """The training job for a kind that trains its own model (not a label classifier):
    fit on the final values of train items, evaluate on the test split with the kind's
    metrics, baselines and human level, save, and past the kind's verdict rank the
    pool by the kind's uncertainty and become the champion."""
    report = _reporter(progress)
    kind, context = kind_of(project), kind_context(project)
    timings: dict[str, float] = {}
    notes: list[str] = []
    clock = time.perf_counter()
    report(0.02, "reading final answers")
    train = final_valued(project, "train", kind.decode)
    model = kind.train(train.X, train.values, context, kind_model_settings(project))
    timings["fit"] = time.perf_counter() - clock
    report(0.3, f"fitted on {len(train):,} answers; evaluating on the test split")
    clock = time.perf_counter()
    test = final_valued(project, "test", kind.decode)
    metrics: dict[str, Any] = {
        "n_test": len(test),
        "n_train_labels": len(train),
        "headline_metric": kind.headline_metric,
        "headline_higher_is_better": kind.headline_higher_is_better,
    }
    votes = test_votes(project, kind.decode)
    metrics["hlp"] = kind.human_level(votes, context) if len(votes) else None
    baselines: dict[str, Any] = {}
    if len(test):
        metrics.update(kind.evaluate(model, test.X, test.values, context))
        baselines = {
            **kind.baselines(train.values, test.values, context),
            **kind.item_baselines(test.X, test.values, context),
        }
    else:
        notes.append("no final-labeled test items yet: the model is not evaluated")
    timings["evaluate"] = time.perf_counter() - clock
    clock = time.perf_counter()
    artifact_path = artifacts.save_kind(model, kind.name, project.id, version.id)
    artifacts.load_kind_path(artifact_path, kind.name)  # a bad file fails here
    timings["save"] = time.perf_counter() - clock
    champion = db.session.get(ModelVersion, project.champion_id) if project.champion_id else None
    with _writing():
        version.n_labels, version.artifact_path = len(train), artifact_path
        version.train_label_counts = dict(Counter(kind.mix_key(v, context) for v in train.values))
        version.baseline_metrics = baselines
        version.metrics = {**metrics, "notes": notes, "timings": timings}
        version.status = "candidate"
        verdict = rollout.verdict(project, version, champion)
        _record_verdict(project, version, verdict)
    return _settle(
        project,
        version,
        verdict,
        timings,
        lambda report: scoring.rank_open_pool_by_kind(
            project, kind, context, model, version.id, report
        ),
        progress,
    )


def _record_verdict(
    project: Project, version: ModelVersion, verdict: tuple[bool, list[str]]
) -> None:
    """Inside the transaction that stores a trained candidate: a version that failed its
    verdict keeps the reasons in its notes (and the audit log), and ``model.trained``
    is announced either way."""
    passed, reasons = verdict
    if not passed:
        version.metrics = {**version.metrics, "notes": [*version.metrics["notes"], *reasons]}
        rollout.after_training(project, version)  # audits why it waits for a person
    webhooks.emit(project, "model.trained", _trained_event(version, passed))


def _settle(
    project: Project,
    version: ModelVersion,
    verdict: tuple[bool, list[str]],
    timings: dict[str, float],
    rank: Callable[[Callable[[float, str], None]], dict[str, Any]],
    progress: jobs.Progress,
) -> dict[str, Any]:
    """The end of a training, whatever the kind, once :func:`_record_verdict` has run:
    a ``version`` that failed its ``verdict`` waits for a person; one that passed ranks
    the open pool (``rank``, given a progress report) and becomes the champion."""
    passed, reasons = verdict
    if not passed:
        return {
            "version_id": version.id,
            "status": "candidate",
            "n_labels": version.n_labels,
            "reasons": reasons,
        }
    clock = time.perf_counter()
    ranked = rank(lambda f, m: progress(0.45 + 0.53 * f, m))
    timings["score"] = time.perf_counter() - clock
    with _writing():
        version.metrics = {**version.metrics, "timings": timings, "queue": ranked}
        rollout.promote(project, version, None, "automatic: " + "; ".join(reasons), automatic=True)
    return {"version_id": version.id, "status": "champion", "n_labels": version.n_labels, **ranked}
