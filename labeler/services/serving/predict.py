"""Serving: a per-process model cache, canary routing, predictions and their log.

The champion answers ``/predict``; a challenger with ``traffic_share`` s answers a
share s of requests (the same request id always goes to the same version, so a
client retrying gets the same answer). Models are read only from the artifact
folder and kept per process, keyed by (version id, artifact mtime): a rewritten
file is reloaded, an unchanged one never is. When a version's artifact is missing
or corrupt the request is answered by the last model that served the project's
champion in this process, or fails with a clear 503 if there is none; a broken
challenger just stops taking its share.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import and_, or_, select

from labeler.core.artifacts import ModelArtifactError, load_kind_model, load_model
from labeler.core.kinds import InvalidValue, Predictions, TaskKind
from labeler.extensions import db
from labeler.models import ModelVersion, Project
from labeler.services import Conflict, ServiceError
from labeler.services.learning import artifacts
from labeler.services.projects.kinds import context, kind_of
from labeler.services.serving import prediction_log
from labeler.services.serving.request_rows import (  # noqa: F401  (check_rows: the API)
    check_rows,
    frame_of,
    request_fields,
)

log = logging.getLogger(__name__)


class ServingUnavailable(ServiceError):
    """No model can answer: the champion's artifact is unreadable and nothing served before."""

    status = 503


def _loader(kind: TaskKind | None) -> Any:
    """How a kind's artifact loads: a label classifier, or the kind's own model."""
    if kind is None or kind.label_classifier:
        return load_model
    return lambda path: load_kind_model(path, kind.name)


class ModelCache:
    """Fitted models of this process, keyed by (version id, artifact mtime in ns).
    A model is a ``TrainedModel`` for a label classifier, else the kind's own model.

    ``last_champion`` remembers, per project, the model that last answered as
    champion: the fallback when a newer champion's artifact cannot be read.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[int, tuple[int, Any]] = {}
        self.last_champion: dict[int, tuple[int, Any]] = {}

    def get(self, version: ModelVersion | Route, kind: TaskKind | None = None) -> Any:
        """The model of ``version`` of a project of ``kind`` (None: a label classifier),
        loading it on first use or when its file changed.

        Raises:
            ModelArtifactError: no artifact, outside the folder, missing or corrupt.
        """
        path = artifacts.resolve(version.artifact_path)
        try:
            mtime = path.stat().st_mtime_ns
        except OSError as exc:
            raise ModelArtifactError(version.artifact_path or "", "file not found") from exc
        cached = self._models.get(version.id)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        with self._lock:  # one load at a time: a cold start does not load a model N times
            cached = self._models.get(version.id)
            if cached is not None and cached[0] == mtime:
                return cached[1]
            model = _loader(kind)(path)
            self._models[version.id] = (mtime, model)
            # A fitted model is hundreds of thousands of long-lived objects (a TF-IDF
            # vocabulary alone). Freezing them keeps the cyclic collector from walking
            # them again and again while requests allocate: a fifth of a 1,000-item
            # request's overhead. Reference counting still frees an evicted model.
            gc.collect()
            gc.freeze()
            return model

    def cached(self, version_id: int) -> Any | None:
        """The model last loaded for ``version_id`` (even if its file changed since)."""
        entry = self._models.get(version_id)
        return entry[1] if entry else None

    def evict(self, version_id: int) -> None:
        with self._lock:
            self._models.pop(version_id, None)


def cache() -> ModelCache:
    """This app's model cache (one per process and app)."""
    extensions = current_app.extensions
    if "labeler.model_cache" not in extensions:
        extensions.setdefault("labeler.model_cache", ModelCache())
    found: ModelCache = extensions["labeler.model_cache"]
    return found


def takes_canary(share: float, request_id: str | None) -> bool:
    """Whether a request goes to the challenger: a seeded hash of the request id, else chance."""
    if share <= 0:
        return False
    if request_id is None:
        return random.random() < share
    digest = hashlib.blake2b(request_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < share


def _no_champion() -> Conflict:
    return Conflict(
        "no champion model: this project has no trained model serving yet",
        "train a model (POST .../train) or promote a version first",
    )


def champion(project: Project) -> ModelVersion:
    """The serving champion; Conflict (409) when the project has none."""
    version = db.session.get(ModelVersion, project.champion_id) if project.champion_id else None
    if version is None:
        raise _no_champion()
    return version


def challenger(project: Project) -> ModelVersion | None:
    """The challenger taking a canary share of traffic, if any."""
    return db.session.scalar(
        select(ModelVersion)
        .where(
            ModelVersion.project_id == project.id,
            ModelVersion.status == "challenger",
            ModelVersion.traffic_share > 0,
        )
        .order_by(ModelVersion.id.desc())
        .limit(1)
    )


class Route(NamedTuple):
    """What routing needs of a version (not the ORM row: its JSON columns of metrics
    would be decoded on every prediction for nothing)."""

    id: int
    status: str
    traffic_share: float
    artifact_path: str | None


def routing(project: Project) -> tuple[Route | None, Route | None]:
    """The champion and the newest challenger with a traffic share, in one query."""
    serving_now = and_(ModelVersion.status == "challenger", ModelVersion.traffic_share > 0)
    if project.champion_id is not None:
        serving_now = or_(ModelVersion.id == project.champion_id, serving_now)
    found = [
        Route(*row)
        for row in db.session.execute(
            select(
                ModelVersion.id,
                ModelVersion.status,
                ModelVersion.traffic_share,
                ModelVersion.artifact_path,
            )
            .where(ModelVersion.project_id == project.id, serving_now)
            .order_by(ModelVersion.id.desc())
        )
    ]
    chosen = next((v for v in found if v.id == project.champion_id), None)
    contender = next((v for v in found if v.status == "challenger" and v.traffic_share > 0), None)
    return chosen, contender


@dataclass
class Served:
    """One answered request: the kind's :class:`~labeler.core.kinds.Predictions` (per
    row a value, its class-mix key, a confidence 0..1 and the kind's extra fields), the
    version that answered, and the ``latency_ms`` of routing plus inference.
    ``show_value``: the value says more than its key (it is sent beside ``label``)."""

    version_id: int
    predictions: Predictions
    latency_ms: float
    fallback: bool = False
    notes: list[str] = field(default_factory=list)
    show_value: bool = False

    @property
    def labels(self) -> list[str]:
        return self.predictions.keys

    @property
    def confidences(self) -> list[float]:
        return self.predictions.confidences

    @property
    def probabilities(self) -> np.ndarray:
        """Rows x classes, for kinds that give ``probabilities`` by class (in the order
        the model holds its classes); an empty matrix for the others."""
        details = self.predictions.details
        if not details or "probabilities" not in details[0]:
            return np.zeros((len(details), 0))
        classes = list(details[0]["probabilities"])
        return np.asarray([[d["probabilities"][c] for c in classes] for d in details])

    def rows(self) -> list[dict[str, Any]]:
        """JSON rows: label (the value's key), value (when it says more), confidence,
        the kind's fields (``probabilities`` by class, ...) and model_version_id."""
        found, version_id = self.predictions, self.version_id
        if self.show_value:
            return [
                {"label": key, "value": value, "confidence": confidence, **detail,
                 "model_version_id": version_id}
                for key, value, confidence, detail in zip(
                    found.keys, found.values, found.confidences, found.details, strict=True
                )
            ]  # fmt: skip
        return [
            {"label": key, "confidence": confidence, **detail, "model_version_id": version_id}
            for key, confidence, detail in zip(
                found.keys, found.confidences, found.details, strict=True
            )
        ]


def _model_for(
    project: Project, request_id: str | None, kind: TaskKind
) -> tuple[Route, Any, bool, list[str]]:
    """Route the request; fall back to the champion, then to the last champion served."""
    models = cache()
    notes: list[str] = []
    chosen, contender = routing(project)
    if chosen is None:
        raise _no_champion()
    if contender is not None and takes_canary(contender.traffic_share, request_id):
        try:
            return contender, models.get(contender, kind), False, notes
        except ModelArtifactError as exc:
            log.warning("challenger #%s cannot serve: %s", contender.id, exc)
            notes.append(f"challenger #{contender.id} could not serve: {exc.reason}")
    try:
        model = models.get(chosen, kind)
    except ModelArtifactError as exc:
        previous = models.last_champion.get(project.id)
        stale = models.cached(chosen.id)
        log.warning("champion #%s cannot serve: %s", chosen.id, exc)
        if stale is not None:
            return chosen, stale, True, [f"served from memory: {exc}"]
        if previous is None:
            raise ServingUnavailable(
                f"the champion model #{chosen.id} cannot be loaded", str(exc)
            ) from exc
        return (
            Route(previous[0], "fallback", 0.0, None),
            previous[1],
            True,
            [f"champion #{chosen.id}: {exc}; served by #{previous[0]}"],
        )
    models.last_champion[project.id] = (chosen.id, model)
    return chosen, model, False, notes


def predict(project: Project, frame: pd.DataFrame, request_id: str | None = None) -> Served:
    """Answer one request of ``len(frame)`` rows (columns: :func:`request_fields`)."""
    started = time.perf_counter()
    kind = kind_of(project)
    version, model, fallback, notes = _model_for(project, request_id, kind)
    try:
        found = kind.serve(model, frame, context(project))
    except InvalidValue as exc:
        raise ServiceError(str(exc), {"field": exc.field}) from exc
    latency = (time.perf_counter() - started) * 1000.0
    return Served(version.id, found, latency, fallback, notes, not found.keys_are_values)


def serve_items(project: Project, version: ModelVersion, records: Sequence[Any]) -> Predictions:
    """What ``version`` says of stored items (their data): not routed, not logged.

    Raises:
        ModelArtifactError: the version's artifact cannot be loaded.
        ServiceError: the kind cannot serve it.
    """
    kind = kind_of(project)
    model = cache().get(version, kind)
    frame = frame_of([record or {} for record in records], list(request_fields(project)))
    try:
        return kind.serve(model, frame, context(project))
    except InvalidValue as exc:
        raise ServiceError(str(exc), {"field": exc.field}) from exc


def log_predictions(project_id: int, served: Served) -> int:
    """Hand (a sample of) the served rows to the prediction log; return how many were kept.

    The rows reach the database within LABELER_PREDICTION_LOG_FLUSH_SECONDS, from a
    transaction of their own (see :mod:`labeler.services.serving.prediction_log`).
    """
    return prediction_log.writer().add(
        project_id, served.version_id, served.latency_ms, served.labels, served.confidences
    )
