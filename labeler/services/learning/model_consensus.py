"""Model-aware consensus for a whole project: every item's votes weighed against the
newest model version's out-of-sample probabilities (:mod:`labeler.core.model_consensus`,
the idea of CROWDLAB), for the consensus job of projects whose method is
``model_aware``. Reads only; the job writes the items.

Which probabilities: those the newest (not failed) version stored at training
(``ModelProbabilities``): K-fold for its train items, its own predictions for test
items and items voted on but not final. Items labeled after that training have none:
they keep the majority vote each submit gives them until the next training, whose job
reruns this one. Gold answers anchor the reliability weights, as they anchor
Dawid-Skene (each known answer counts as one more vote from an annotator who never
errs); a gold item's own consensus still comes from its votes and the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select

from labeler.core.model_consensus import ModelAwareResult, model_aware_consensus
from labeler.extensions import db
from labeler.models import ModelProbabilities, ModelVersion, Project
from labeler.services.labeling.gold import answers_for


@dataclass(frozen=True)
class ModelAwareFit:
    """What the fit found: ``items`` (indexed by item id: label, confidence = the
    consensus quality 0..1, support, unanimous, and the posterior's likeliest label
    with its chance), per annotator (user id) ``quality``
    0..1 and ``weight`` (> 0; 1 counts like an annotator who never errs), the model's
    weight, the version whose probabilities were read, how many voted items had
    none (they keep majority vote), how many gold answers anchored the weights, and the
    core's whole result (relabel scores)."""

    items: pd.DataFrame
    annotator_quality: pd.Series
    annotator_weight: pd.Series
    model_weight: float
    version_id: int
    n_without_model: int
    result: ModelAwareResult
    n_gold: int = 0


def newest_probabilities(project: Project) -> ModelProbabilities | None:
    """The newest stored probabilities of a version of ``project`` that did not fail."""
    return db.session.scalar(
        select(ModelProbabilities)
        .join(ModelVersion, ModelVersion.id == ModelProbabilities.model_version_id)
        .where(ModelProbabilities.project_id == project.id, ModelVersion.status != "failed")
        .order_by(ModelProbabilities.model_version_id.desc())
        .limit(1)
    )


def probability_frame(stored: ModelProbabilities, labels: list[str]) -> pd.DataFrame:
    """Items x labels: the stored classes' probabilities, 0 for a label the model never
    learnt (too few train labels), so every vote's label is a column."""
    ids, probs = stored.arrays()
    columns = list(dict.fromkeys([*stored.classes, *labels]))
    frame = pd.DataFrame(0.0, index=pd.Index(ids, name="item"), columns=columns)
    frame[list(stored.classes)] = probs
    return frame


def fit_model_aware(project: Project, ratings: pd.DataFrame) -> ModelAwareFit | None:
    """Model-aware consensus over ``ratings`` (long item, annotator, label as str), or
    None before any version stored probabilities."""
    stored = newest_probabilities(project)
    if stored is None:
        return None
    labels = [*project.label_names, *sorted(ratings["label"].unique())]
    probs = probability_frame(stored, labels)
    covered = ratings[ratings["item"].isin(probs.index)]
    n_without = int(ratings["item"].nunique() - covered["item"].nunique())
    if covered.empty:
        return None
    items = np.unique(covered["item"].to_numpy())
    gold = {
        item: label
        for item, label in answers_for(project, items.tolist()).items()
        if label in probs.columns
    }
    result = model_aware_consensus(covered, probs.loc[items], known=gold)
    return ModelAwareFit(
        items=result.items[
            [
                "label",
                "confidence",
                "support",
                "unanimous",
                "likeliest_label",
                "likeliest_probability",
            ]
        ],
        annotator_quality=result.annotator_quality,
        annotator_weight=result.annotator_weight,
        model_weight=float(result.model_weight),
        version_id=stored.model_version_id,
        n_without_model=n_without,
        result=result,
        n_gold=len(gold),
    )
