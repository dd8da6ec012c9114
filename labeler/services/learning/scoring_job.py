"""Re-rank the annotation queue with the champion, as a job (``score``).

The training job ranks the queue for the version it promotes. When a person changes
the champion instead (a promotion or a rollback, on the monitoring page or through
the API), the ranks would keep following a model that no longer serves. This job
scores the open train pool with the champion that serves when it runs, exactly as
the training job does (:func:`labeler.services.learning.scoring.rank_open_pool`: cold start,
the random share, the test items' random order and the gold tier all hold).

Handlers start it with :func:`start_rescore` right after their commit; the training
job never does (it has just ranked the queue itself).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from labeler import jobs
from labeler.core.artifacts import ModelArtifactError
from labeler.db_engine import begin_write
from labeler.extensions import db
from labeler.models import Job, ModelVersion, Project
from labeler.services.learning import artifacts, modeling, scoring
from labeler.services.projects.kinds import context as kind_context
from labeler.services.projects.kinds import kind_of

KIND = "score"


def start_rescore(project: Project, user_id: int | None = None, reason: str = "") -> Job | None:
    """Queue a job that re-ranks ``project``'s queue with its champion (None: no champion).

    Call it right after the handler's commit that changed the champion. Commits
    (through ``jobs.start``): call it from a handler, never from a service. Each call
    queues a job of its own, because one already running may have loaded the champion
    of before; a job still waiting steps aside for a newer one (:func:`run_scoring`).
    """
    if project.champion_id is None:
        return None
    begin_write()  # SQLite: the read above cannot become the job's write once others commit
    params = {"reason": reason, "champion_id": project.champion_id}
    return jobs.start(KIND, project.id, params, user_id, unique=False)


def _newer_job(job: Job) -> int | None:
    """The id of a score job of the same project queued after ``job``, if any."""
    return db.session.scalar(
        select(Job.id)
        .where(
            Job.kind == KIND,
            Job.project_id == job.project_id,
            Job.id > job.id,
            Job.status == "queued",
        )
        .limit(1)
    )


@jobs.runner(KIND)
def run_scoring(job: Job, progress: jobs.Progress) -> dict[str, Any]:
    """Score the open pool with the current champion and write the queue ranks.

    Raises (the job fails, the ranks stay as they were) when the champion's artifact
    cannot be loaded.
    """
    project = db.session.get(Project, job.project_id)
    if project is None:
        raise LookupError(f"project {job.project_id} no longer exists")
    newer = _newer_job(job)
    if newer is not None:  # it reads the champion when it starts: no need to rank twice
        return {"skipped": f"job #{newer} ranks the queue with the champion after this one"}
    champion = db.session.get(ModelVersion, project.champion_id) if project.champion_id else None
    if champion is None:
        return {"skipped": "the project has no champion: the queue keeps its order"}
    champion_id = champion.id
    # Another model serves now: its first ranking covers the whole pool (no window of
    # :mod:`scoring_window`), committed with the ranks it writes.
    project.queue_ranked_by = None
    progress(0.02, f"loading model #{champion_id}")
    kind = kind_of(project)
    try:
        if not kind.label_classifier:
            model = artifacts.load_kind(champion, kind.name)
        else:
            model = artifacts.load(champion)
    except ModelArtifactError as exc:
        raise RuntimeError(
            f"the champion, model #{champion_id}, cannot be loaded ({exc.reason}; "
            f"artifact {exc.path}): the queue keeps its ranks"
        ) from exc
    if not kind.label_classifier:
        ranked = scoring.rank_open_pool_by_kind(
            project,
            kind,
            kind_context(project),
            model,
            champion_id,
            lambda f, m: progress(0.1 + 0.9 * f, m),
        )
        return {"version_id": champion_id, **ranked, "notes": []}
    progress(0.05, "reading final labels")
    notes: list[str] = []
    train = modeling.usable_train(project, notes, champion.estimator)
    ranked = scoring.rank_open_pool(
        project, model, train, champion_id, lambda f, m: progress(0.1 + 0.9 * f, m)
    )
    return {"version_id": champion_id, **ranked, "notes": notes}
