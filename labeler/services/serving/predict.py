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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import and_, or_, select

from labeler.core.artifacts import ModelArtifactError, load_model
from labeler.core.model_inputs import ModelInputs
from labeler.core.training import TrainedModel
from labeler.extensions import db
from labeler.models import ModelVersion, Project
from labeler.services import Conflict, ServiceError
from labeler.services.learning import artifacts
from labeler.services.projects.kinds import kind_of
from labeler.services.serving import prediction_log

log = logging.getLogger(__name__)


class ServingUnavailable(ServiceError):
    """No model can answer: the champion's artifact is unreadable and nothing served before."""

    status = 503


class ModelCache:
    """Fitted models of this process, keyed by (version id, artifact mtime in ns).

    ``last_champion`` remembers, per project, the model that last answered as
    champion: the fallback when a newer champion's artifact cannot be read.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[int, tuple[int, TrainedModel]] = {}
        self.last_champion: dict[int, tuple[int, TrainedModel]] = {}

    def get(self, version: ModelVersion | Route) -> TrainedModel:
        """The model of ``version``, loading it on first use or when its file changed.

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
            model = load_model(path)
            self._models[version.id] = (mtime, model)
            # A fitted model is hundreds of thousands of long-lived objects (a TF-IDF
            # vocabulary alone). Freezing them keeps the cyclic collector from walking
            # them again and again while requests allocate: a fifth of a 1,000-item
            # request's overhead. Reference counting still frees an evicted model.
            gc.collect()
            gc.freeze()
            return model

    def cached(self, version_id: int) -> TrainedModel | None:
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
    """One answered request: per row ``labels``, ``confidences`` (top-class probability,
    0..1) and ``probabilities`` (rows x classes), the version that answered, and the
    ``latency_ms`` of routing plus inference."""

    version_id: int
    classes: list[str]
    labels: list[str]
    confidences: list[float]
    probabilities: np.ndarray
    latency_ms: float
    fallback: bool = False
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        """JSON rows: label, confidence, probabilities by class, model_version_id."""
        classes, version_id = self.classes, self.version_id
        if len(classes) == 2:  # the common case; a dict display is twice as fast as dict(zip())
            first, second = classes
            by_class = [{first: p, second: q} for p, q in self.probabilities.tolist()]
        else:
            by_class = [dict(zip(classes, row, strict=True)) for row in self.probabilities.tolist()]
        return [
            {
                "label": label,
                "confidence": confidence,
                "probabilities": probabilities,
                "model_version_id": version_id,
            }
            for label, confidence, probabilities in zip(
                self.labels, self.confidences, by_class, strict=True
            )
        ]


def _model_for(
    project: Project, request_id: str | None
) -> tuple[Route, TrainedModel, bool, list[str]]:
    """Route the request; fall back to the champion, then to the last champion served."""
    models = cache()
    notes: list[str] = []
    chosen, contender = routing(project)
    if chosen is None:
        raise _no_champion()
    if contender is not None and takes_canary(contender.traffic_share, request_id):
        try:
            return contender, models.get(contender), False, notes
        except ModelArtifactError as exc:
            log.warning("challenger #%s cannot serve: %s", contender.id, exc)
            notes.append(f"challenger #{contender.id} could not serve: {exc.reason}")
    try:
        model = models.get(chosen)
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
    """Answer one request of ``len(frame)`` rows (columns: the model's input fields)."""
    started = time.perf_counter()
    version, model, fallback, notes = _model_for(project, request_id)
    probabilities = model.predict_proba(frame)
    best = probabilities.argmax(axis=1)
    classes = list(model.classes)
    labels = [classes[i] for i in best]
    confidences = probabilities[np.arange(len(best)), best].tolist()
    latency = (time.perf_counter() - started) * 1000.0
    return Served(version.id, classes, labels, confidences, probabilities, latency, fallback, notes)


def check_rows(project: Project, rows: Sequence[Any]) -> pd.DataFrame:
    """Validate the items against the project's model inputs; the frame the model reads.

    Every input field must be present; text fields take a string, numeric ones a
    number or null, categorical ones a string, number, boolean or null. Other fields
    are ignored.

    Raises:
        ServiceError (422): the detail lists each bad row and field, or the project's
            kind trains a model predictions cannot serve yet (not a label classifier).
    """
    kind = kind_of(project)
    if not kind.label_classifier:
        raise ServiceError(
            f"predictions serve single-label models only: this project's task kind is "
            f"{kind.name}, whose model ranks the queue but is not served yet",
            {"field": "task_kind", "task_kind": kind.name},
        )
    inputs = ModelInputs.from_dict(project.model_inputs or {})
    if not inputs.fields:
        raise Conflict("the project has no model inputs, so there is nothing to predict from")
    kinds = {
        **{n: "text" for n in inputs.text},
        **{n: "numeric" for n in inputs.numeric},
        **{n: "categorical" for n in inputs.categorical},
    }
    if all(type(row) is dict for row in rows):
        columns = {name: [row.get(name, _MISSING) for row in rows] for name in inputs.fields}
        # Fast path: every value has an accepted type (one pass per column, no calls).
        if all(_column_fits(kinds[name], values) for name, values in columns.items()):
            return pd.DataFrame(columns)  # column by column: a third of the cost of rows
    problems = _problems(rows, kinds)
    if problems:
        raise ServiceError(
            "some items cannot be predicted", {"problems": problems[:20], "fields": kinds}
        )
    # Valid, but past the fast path (a Mapping that is not a dict, a subclass of float).
    return pd.DataFrame({name: [row[name] for row in rows] for name in inputs.fields})


_MISSING = object()
_NUMBER = (int, float)
_SCALAR = (str, int, float, bool)


def _column_fits(kind: str, values: list[Any]) -> bool:
    if kind == "text":
        return all(type(v) is str for v in values)
    if kind == "numeric":
        return all(v is None or (type(v) in _NUMBER) for v in values)
    return all(v is None or type(v) in _SCALAR for v in values)


def _problems(rows: Sequence[Any], kinds: dict[str, str]) -> list[str]:
    """What is wrong with the rows, item by item (at most 20 lines)."""
    problems: list[str] = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            problems.append(f"item {index}: expected an object of fields")
            continue
        for name, kind in kinds.items():
            if name not in row:
                problems.append(f"item {index}: missing field {name!r} ({kind})")
            elif not _fits(kind, row[name]):
                problems.append(
                    f"item {index}: field {name!r} must be {_WANTED[kind]}, "
                    f"got {type(row[name]).__name__}"
                )
        if len(problems) >= 20:
            break
    return problems


_WANTED = {
    "text": "a string",
    "numeric": "a number or null",
    "categorical": "a string, number, boolean or null",
}


def _fits(kind: str, value: Any) -> bool:
    if kind == "text":
        return isinstance(value, str)
    if kind == "numeric":
        return value is None or (isinstance(value, int | float) and not isinstance(value, bool))
    return value is None or isinstance(value, str | int | float | bool)


def log_predictions(project_id: int, served: Served) -> int:
    """Hand (a sample of) the served rows to the prediction log; return how many were kept.

    The rows reach the database within LABELER_PREDICTION_LOG_FLUSH_SECONDS, from a
    transaction of their own (see :mod:`labeler.services.serving.prediction_log`).
    """
    return prediction_log.writer().add(
        project_id, served.version_id, served.latency_ms, served.labels, served.confidences
    )
