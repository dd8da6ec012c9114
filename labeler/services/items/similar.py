"""The items index job (``items_index``) and "find similar".

The job reads every item of the project once with the serving champion and writes two
things: the model's opinion on each item (``Item.predicted_label`` and
``predicted_confidence``, which the browser filters and sorts on), and the similar-items
index, a small file beside the model artifacts (``project-<id>/similar.npz``): item ids,
their unit-length embeddings and the SVD directions (labeler.core.similarity), so a
typed query is embedded the same way. Asking is a matrix-vector product on that file.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sqlalchemy import bindparam, select, update

from labeler import jobs
from labeler.core import similarity
from labeler.core.training import TrainedModel
from labeler.extensions import db
from labeler.models import Item, Job, Project
from labeler.services import Conflict, NotFound, ServiceError
from labeler.services.items import index_trigger
from labeler.services.learning import artifacts
from labeler.services.learning.training_data import model_inputs, pool_batches, to_frame

KIND = index_trigger.KIND
BATCH = 5000
MAX_QUERY = 500


def start(project: Project, user_id: int | None) -> Job:
    """Queue the items index job (or return the active one). Commits, as jobs.start does:
    call it from a handler. A project without a serving model has nothing to index with."""
    if project.champion_id is None:
        raise Conflict("no model serves this project yet: train one first")
    return jobs.start(KIND, project.id, {}, user_id)


def index_path(project_id: int) -> Path:
    return artifacts.folder() / f"project-{project_id}" / "similar.npz"


def _features(model: TrainedModel, frame: Any) -> Any:
    """What the model's estimator reads: its pipeline without the last step."""
    return model.pipeline[:-1].transform(frame)


def _write_opinions(
    model: TrainedModel, ids: np.ndarray, proba: np.ndarray, version_id: int
) -> None:
    best = proba.argmax(axis=1)
    labels = np.asarray(model.classes, dtype=object)[best]
    table = Item.__table__
    db.session.execute(
        update(table)
        .where(table.c.id == bindparam("item_id"))
        .values(
            predicted_label=bindparam("label"),
            predicted_confidence=bindparam("p"),
            predicted_version_id=version_id,
        ),
        [
            {"item_id": int(i), "label": str(label), "p": float(p)}
            for i, label, p in zip(ids, labels, proba[np.arange(len(best)), best], strict=True)
        ],
        execution_options={"synchronize_session": False},
    )


@jobs.runner(KIND)
def run_index(job: Job, progress: jobs.Progress) -> dict[str, Any]:
    from labeler.services.serving import predict as serving

    project = db.session.get(Project, job.project_id)
    if project is None:
        raise NotFound(f"project {job.project_id} not found")
    newer = index_trigger.newer_queued(job)
    if newer is not None:  # it reads everything when it starts: no need to index twice
        return {"skipped": f"job #{newer} indexes the items after this one"}
    version = serving.champion(project)
    model = serving.cache().get(version)
    ids = np.asarray(
        db.session.scalars(
            select(Item.id).where(Item.project_id == project.id).order_by(Item.id)
        ).all(),
        dtype=np.int64,
    )
    parts, done = [], 0
    for batch_ids, frame in pool_batches(project, ids, BATCH):
        _write_opinions(model, batch_ids, model.predict_proba(frame), version.id)
        features = _features(model, frame)
        parts.append(sp.csr_matrix(features) if sp.issparse(features) else np.asarray(features))
        db.session.commit()  # each batch's opinions land as they are made
        done += len(batch_ids)
        progress(0.9 * done / max(len(ids), 1), f"read {done:,} of {len(ids):,} items")
    if not parts:
        raise Conflict("the project has no items to index")
    features = sp.vstack(parts).tocsr() if sp.issparse(parts[0]) else np.vstack(parts)
    components = similarity.fit_components(features)
    vectors = similarity.embed(features, components)
    path = index_path(project.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp.npz")
    np.savez(temporary, ids=ids, vectors=vectors, components=components, version=version.id)
    temporary.replace(path)  # readers never see half a file
    return {"items": int(len(ids)), "dimensions": int(vectors.shape[1]), "version": version.id}


@dataclass(frozen=True)
class Index:
    ids: np.ndarray
    vectors: np.ndarray
    components: np.ndarray
    version_id: int


_cache: dict[Path, tuple[int, Index]] = {}
_lock = threading.Lock()


def load_index(project: Project) -> Index | None:
    """The project's index (cached while its file is unchanged), or None if never built."""
    path = index_path(project.id)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return None
    cached = _cache.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    with _lock, np.load(path) as stored:
        index = Index(
            stored["ids"], stored["vectors"], stored["components"], int(stored["version"])
        )
        _cache[path] = (mtime, index)
    return index


@dataclass(frozen=True)
class Neighbour:
    item: Item
    similarity: float


def similar_to_item(project: Project, item: Item, k: int = 10) -> list[Neighbour]:
    index = _require(project)
    position = int(np.searchsorted(index.ids, item.id))
    if position >= len(index.ids) or index.ids[position] != item.id:
        raise Conflict("this item came after the index was built: build it again")
    found, scores = similarity.nearest(index.vectors, index.vectors[position], k, position)
    return _neighbours(index, found, scores)


def similar_to_text(project: Project, query: str, k: int = 10) -> list[Neighbour]:
    """Items nearest to a typed text, embedded as an item whose text fields all hold it."""
    from labeler.services.serving import predict as serving

    query = (query or "").strip()
    if not query:
        raise ServiceError("type something to find items like it", {"field": "q"})
    if len(query) > MAX_QUERY:
        raise ServiceError(f"the query is limited to {MAX_QUERY} characters", {"field": "q"})
    inputs = model_inputs(project)
    if not inputs.text:
        raise ServiceError("this project's items have no text to match a query", {"field": "q"})
    index = _require(project)
    model = serving.cache().get(serving.champion(project))
    frame = to_frame([{name: query for name in inputs.text}], inputs)
    vector = similarity.embed(_features(model, frame), index.components)[0]
    found, scores = similarity.nearest(index.vectors, vector, k)
    return _neighbours(index, found, scores)


def _require(project: Project) -> Index:
    index = load_index(project)
    if index is None:
        raise Conflict("the similar-items index is not built yet; build it from the items page")
    return index


def _neighbours(index: Index, found: np.ndarray, scores: np.ndarray) -> list[Neighbour]:
    ids = [int(index.ids[i]) for i in found]
    items = {i.id: i for i in db.session.scalars(select(Item).where(Item.id.in_(ids)))}
    return [
        Neighbour(items[item_id], float(score))
        for item_id, score in zip(ids, scores, strict=True)
        if item_id in items
    ]
