"""single_label: one label from the project's set. Today's behaviour, by delegation.

The value is the label name and so is its key. Every figure comes from the modules
that served single-label projects before kinds existed (agreement, consensus,
evaluation, sampling, training); this module only adapts their inputs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from labeler.core import agreement, consensus, evaluation, sampling, training
from labeler.core.kinds import _serving
from labeler.core.kinds.base import (
    ConsensusFit,
    Figure,
    InvalidValue,
    ItemConsensus,
    KindContext,
    Predictions,
    TaskKind,
    Value,
    finite_or_none,
)
from labeler.core.model_inputs import ModelInputs


def label_frame(votes: pd.DataFrame) -> pd.DataFrame:
    """The core's long ``item``, ``annotator``, ``label`` frame from kind votes."""
    return pd.DataFrame(
        {"item": votes["item"], "annotator": votes["annotator"], "label": votes["key"]}
    )


def dawid_skene_with_gold(
    frame: pd.DataFrame, gold: Mapping[Hashable, str]
) -> tuple[pd.DataFrame, consensus.DawidSkeneResult]:
    """Dawid-Skene over ``frame`` (item, annotator, label keys) with the gold items'
    known keys anchoring each annotator's confusion matrix; a gold item's own row is
    read from its votes alone, as a submit reads it. Returns the items and the fit."""
    fit = consensus.dawid_skene(frame, known=dict(gold) or None)
    items = fit.items
    if gold:
        read = fit.items_from_votes(frame[frame["item"].isin(list(gold))])
        others = items.drop(index=read.index)
        items = pd.concat([others, read]) if len(others) else read
    return items, fit


def consensus_table(
    items: pd.DataFrame,
    frame: pd.DataFrame,
    context: KindContext,
    value_of: Callable[[Any], Value],
) -> pd.DataFrame:
    """A label-keyed consensus (``label``, ``confidence``, ``unanimous``) as a kind's
    consensus table: ``value_of`` turns each winning key into the kind's value."""
    flagged = consensus.disputed(
        items, context.dispute_threshold, context.require_unanimity, votes=frame
    )
    values = pd.Series(
        [None if pd.isna(key) else value_of(key) for key in items["label"]],
        index=items.index,
        dtype=object,
    )
    table = items.assign(value=values, key=items["label"], disputed=flagged)
    return table[["value", "key", "confidence", "unanimous", "disputed"]]


def gold_anchored_fit(
    kind: TaskKind,
    votes: pd.DataFrame,
    context: KindContext,
    known: Mapping[Hashable, Value] | None,
    value_of: Callable[[Any], Value],
) -> ConsensusFit:
    """Dawid-Skene over a kind whose answers are keyed by one label (single-label,
    pairwise's choice), gold answers anchoring each annotator."""
    frame = label_frame(votes)
    gold = {item: kind.key(value) for item, value in (known or {}).items()}
    items, fit = dawid_skene_with_gold(frame, gold)
    table = consensus_table(items, frame, context, value_of)
    return ConsensusFit(table, fit.annotator_accuracy, fit.n_iter, fit.converged)


def figure_value(result: agreement.AgreementResult) -> float | None:
    """An agreement result as a figure's value: None where it is undefined (NaN)."""
    return finite_or_none(result.value)


def majority_consensus(keys: Sequence[str], context: KindContext) -> ItemConsensus:
    """Majority vote over answer keys; a tie has no winner and is disputed (never settled
    by order), as is a winner below the project's dispute threshold, or any disagreement
    when the project requires unanimity."""
    counts = Counter(keys)
    if not counts:
        return ItemConsensus(None, 0.0, False, True)
    (winner, top), *rest = counts.most_common(2)
    tie = bool(rest) and rest[0][1] == top
    confidence = top / len(keys)
    disputed = (
        tie
        or confidence < context.dispute_threshold
        or (context.require_unanimity and len(counts) > 1)
    )
    return ItemConsensus(None if tie else winner, confidence, disputed, len(counts) == 1)


class SingleLabel(TaskKind):
    name = "single_label"
    title = "Single label (one label per item)"
    widget = "kinds/single_label.js"
    label_classifier = True

    def validate(self, raw: object, context: KindContext) -> Value:
        if not isinstance(raw, str):
            raise InvalidValue("label must be a string", "label")
        if raw not in context.labels:
            raise InvalidValue(
                f"{raw!r} is not in the label set", "label", allowed=list(context.labels)
            )
        return raw

    def key(self, value: Value) -> str:
        return str(value)

    def agreement(self, votes: pd.DataFrame, context: KindContext) -> list[Figure]:
        frame = label_frame(votes)
        order = list(context.labels) if context.label_scale != "nominal" else None
        level = context.label_scale if context.label_scale in ("ordinal", "interval") else "nominal"
        alpha = agreement.krippendorff_alpha(frame, level=level, order=order)  # type: ignore[arg-type]
        return [
            Figure(
                f"Krippendorff's alpha ({level})",
                figure_value(alpha),
                "-1..1: 1 perfect, 0 chance; at least 0.8 is reliable, 0.667 tentative",
            ),
            Figure(
                "Fleiss' kappa",
                figure_value(agreement.fleiss_kappa(frame)),
                "-1..1: agreement beyond chance over all annotators",
            ),
            Figure(
                "Percent agreement",
                figure_value(agreement.percent_agreement(frame)),
                "0..1: share of annotator pairs that agree (not chance-corrected)",
            ),
        ]

    def item_consensus(self, values: Sequence[Value], context: KindContext) -> ItemConsensus:
        return majority_consensus([str(v) for v in values], context)

    def consensus_methods(self) -> tuple[str, ...]:
        # model_aware needs the model's out-of-sample probabilities, which a vote frame
        # does not carry: its job reads them (services/learning/model_consensus.py);
        # here, as on every submit between jobs, it is majority vote.
        return ("majority", "dawid_skene", "model_aware")

    def consensus(self, votes: pd.DataFrame, context: KindContext, method: str) -> pd.DataFrame:
        frame = label_frame(votes)
        if method == "dawid_skene":
            items = consensus.dawid_skene(frame).items
        elif method in ("majority", "model_aware"):
            items = consensus.majority_vote(frame)
        else:
            raise InvalidValue(f"unknown consensus method {method!r}", "consensus_method")
        return consensus_table(items, frame, context, lambda key: key)

    def fit_consensus(
        self,
        votes: pd.DataFrame,
        context: KindContext,
        method: str,
        known: Mapping[Hashable, Value] | None = None,
    ) -> ConsensusFit:
        """Dawid-Skene with gold answers (``known``) anchoring each annotator's
        confusion matrix; a gold item's own row is read from its votes alone, as a
        submit reads it. Other methods: :meth:`consensus`."""
        if method != "dawid_skene":
            return ConsensusFit(self.consensus(votes, context, method))
        return gold_anchored_fit(self, votes, context, known, lambda key: key)

    def targets(self, values: Sequence[Value], context: KindContext) -> np.ndarray:
        return np.asarray([str(v) for v in values], dtype=object)

    def train(
        self,
        X: pd.DataFrame,
        values: Sequence[Value],
        context: KindContext,
        model_settings: Mapping[str, Any],
    ) -> Any:
        return training.train(
            X,
            list(self.targets(values, context)),
            model_settings.get("inputs", ModelInputs()),
            estimator=model_settings.get("estimator", "logistic_regression"),
            params=model_settings.get("params"),
            grid_search=bool(model_settings.get("grid_search", False)),
            random_state=int(model_settings.get("random_state", 0)),
        )

    def predict(self, model: Any, X: pd.DataFrame, context: KindContext) -> list[Value]:
        proba = model.predict_proba(X)
        return [str(model.classes[i]) for i in proba.argmax(axis=1)]

    def evaluate(
        self, model: Any, X: pd.DataFrame, truth: Sequence[Value], context: KindContext
    ) -> dict[str, Any]:
        return evaluation.evaluate(model, X, [str(v) for v in truth])

    def baselines(
        self, train: Sequence[Value], test: Sequence[Value], context: KindContext
    ) -> dict[str, dict[str, Any]]:
        return evaluation.baselines([str(v) for v in train], [str(v) for v in test])

    def human_level(self, votes: pd.DataFrame, context: KindContext) -> dict[str, Any]:
        return evaluation.human_level_performance(label_frame(votes))

    def uncertainty(
        self, model: Any, pool: pd.DataFrame, strategy: str, context: KindContext
    ) -> np.ndarray:
        return sampling.score_pool(model, pool, strategy)

    def strategies(self) -> tuple[str, ...]:
        return sampling.STRATEGIES

    def serve(self, model: Any, X: pd.DataFrame, context: KindContext) -> Predictions:
        return _serving.label_classifier(model, X)

    def one_hot(self, value: Value | None, context: KindContext) -> dict[str, int] | None:
        return {label: int(value == label) for label in context.labels}
