"""Save and load a trained model as a skops artifact that cannot carry code.

:func:`load_model` trusts only the types in :data:`TRUSTED_TYPES` and refuses an
artifact of another format version with :class:`ModelArtifactError`.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any

import skops.io
from sklearn.pipeline import Pipeline

from labeler.core.model_inputs import ModelInputs
from labeler.core.training import TrainedModel


class ModelArtifactError(Exception):
    """A model artifact is missing, unreadable, or holds something we did not save."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"model artifact {self.path}: {reason}")


ARTIFACT_FORMAT = 1


TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "labeler.core.kinds._multi_label_model.MultiLabelModel",
        "labeler.core.kinds._rating_model.RatingModel",
        "labeler.core.model_inputs.prepare_frame",
        "labeler.core.preference_model.PreferenceModel",
        "labeler.core.span_crf.CrfTagger",
        "labeler.core.span_model.SpanTagger",
        "numpy.dtype",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.tree._tree.Tree",
    }
)


# Modules of earlier releases of labeler whose functions an artifact may name (an artifact
# saved before the core moved to labeler.core names labeler.training.prepare_frame): such
# an artifact loads as if saved today.
FORMER_MODULES = {"labeler.training": "labeler.core.model_inputs"}


def _current_paths(path: str | os.PathLike[str]) -> bytes:
    """The artifact's bytes, its schema rewritten to today's module paths (FORMER_MODULES)."""
    data = Path(path).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = archive.read("schema.json").decode()
        renamed = schema
        for former, current in FORMER_MODULES.items():
            renamed = renamed.replace(f'"{former}"', f'"{current}"')
        if renamed == schema:
            return data
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
            for info in archive.infolist():
                body = renamed.encode() if info.filename == "schema.json" else archive.read(info)
                target.writestr(info, body)
        return out.getvalue()


def _vectorisers(pipeline: Pipeline) -> dict[str, Any]:
    steps = pipeline.named_steps["features"].transformers_
    return {name: step for name, step, _ in steps if hasattr(step, "vocabulary_")}


def save_model(model: TrainedModel, path: str | os.PathLike[str]) -> None:
    """Write ``model`` as a skops file (no pickle), atomically (temp file + rename).

    TF-IDF vocabularies travel as one newline-joined string each: skops writes a
    dict entry by entry, which for 30k terms costs seconds and tens of MB.
    """
    vectorisers = _vectorisers(model.pipeline)
    vocabularies = {name: step.vocabulary_ for name, step in vectorisers.items()}
    payload = {
        "format": ARTIFACT_FORMAT,
        "pipeline": model.pipeline,
        "vocabularies": {
            name: "\n".join(sorted(terms, key=terms.__getitem__))
            for name, terms in vocabularies.items()
        },
        "classes": list(model.classes),
        "n_train": int(model.n_train),
        "estimator": model.estimator,
        "params": dict(model.params),
        "notes": list(model.notes),
        "inputs": model.inputs.to_dict(),
    }
    target = Path(path)
    temporary = target.with_name(f".{target.name}.tmp")
    try:
        for step in vectorisers.values():
            step.vocabulary_ = {}
        skops.io.dump(payload, temporary, compression=zipfile.ZIP_DEFLATED)
    finally:
        for name, step in vectorisers.items():
            step.vocabulary_ = vocabularies[name]
    os.replace(temporary, target)


def load_model(path: str | os.PathLike[str]) -> TrainedModel:
    """Read a model written by ``save_model``.

    Raises:
        ModelArtifactError: the file is missing, is not a skops artifact, holds a
            type outside ``TRUSTED_TYPES``, or lacks the fields we save.
    """
    if not Path(path).is_file():
        raise ModelArtifactError(path, "file not found")
    try:
        data = _current_paths(path)
        untrusted = skops.io.get_untrusted_types(data=data)
    except Exception as error:  # zip, JSON or schema errors: all mean "corrupt"
        raise ModelArtifactError(path, f"not a readable skops artifact ({error})") from error
    refused = sorted(set(untrusted) - TRUSTED_TYPES)
    if refused:
        raise ModelArtifactError(path, f"holds types we never save: {refused}")
    try:
        payload = skops.io.loads(data, trusted=list(untrusted))
        if "kind_model" in payload:
            raise ModelArtifactError(
                path, f"holds a {payload.get('kind')} model, not a label classifier"
            )
        for name, step in _vectorisers(payload["pipeline"]).items():
            terms = payload["vocabularies"][name].split("\n")
            step.vocabulary_ = {term: index for index, term in enumerate(terms)}
        return TrainedModel(
            pipeline=payload["pipeline"],
            classes=[str(label) for label in payload["classes"]],
            n_train=int(payload["n_train"]),
            estimator=str(payload["estimator"]),
            params=dict(payload["params"]),
            notes=[str(note) for note in payload["notes"]],
            inputs=ModelInputs.from_dict(payload["inputs"]),
        )
    except ModelArtifactError:
        raise
    except Exception as error:
        raise ModelArtifactError(path, f"cannot be read back ({error})") from error


def save_kind_model(model: Any, kind: str, path: str | os.PathLike[str]) -> None:
    """Write a task kind's own model (not a :class:`TrainedModel`) as a skops file,
    atomically. The model's classes must be in :data:`TRUSTED_TYPES` to load again:
    they are plain data (fitted scikit-learn steps and settings), never code."""
    payload = {"format": ARTIFACT_FORMAT, "kind": kind, "kind_model": model}
    target = Path(path)
    temporary = target.with_name(f".{target.name}.tmp")
    skops.io.dump(payload, temporary, compression=zipfile.ZIP_DEFLATED)
    os.replace(temporary, target)


def load_kind_model(path: str | os.PathLike[str], kind: str) -> Any:
    """Read a model written by :func:`save_kind_model` for ``kind``.

    Raises:
        ModelArtifactError: the file is missing or unreadable, holds a type outside
            ``TRUSTED_TYPES``, or is not a model of ``kind``.
    """
    if not Path(path).is_file():
        raise ModelArtifactError(path, "file not found")
    try:
        data = Path(path).read_bytes()
        untrusted = skops.io.get_untrusted_types(data=data)
    except Exception as error:
        raise ModelArtifactError(path, f"not a readable skops artifact ({error})") from error
    refused = sorted(set(untrusted) - TRUSTED_TYPES)
    if refused:
        raise ModelArtifactError(path, f"holds types we never save: {refused}")
    try:
        payload = skops.io.loads(data, trusted=list(untrusted))
    except Exception as error:
        raise ModelArtifactError(path, f"cannot be read back ({error})") from error
    if not isinstance(payload, dict) or payload.get("format") != ARTIFACT_FORMAT:
        raise ModelArtifactError(path, f"not an artifact of format {ARTIFACT_FORMAT}")
    if payload.get("kind") != kind or "kind_model" not in payload:
        raise ModelArtifactError(path, f"not a {kind} model (holds {payload.get('kind')!r})")
    return payload["kind_model"]
