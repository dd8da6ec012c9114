"""multi_label: a set of labels from the project's set (possibly empty, if allowed).

The value is the chosen labels in the label set's order, without repeats; the key is
that list's compact JSON. Settings: ``allow_empty`` (default False) lets an annotator
answer "none of these". Consensus decides each label as its own yes/no question.
CSV holds a set as one cell, the labels joined by ``|`` in label-set order (an empty
set is an empty cell; a label containing ``|`` or ``\\`` escapes it with ``\\``).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from labeler.core.kinds import _label_set_consensus, _label_sets, _multi_label_model, _serving
from labeler.core.kinds.base import (
    ConsensusFit,
    Figure,
    InvalidValue,
    ItemConsensus,
    KindContext,
    Predictions,
    TaskKind,
    Value,
    bounded_key,
    canonical_json,
    finite_or_none,
)

SEPARATOR = "|"
_TIE = 1e-9


def _row_codes(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of a boolean matrix's distinct rows, and those rows. Up to 62 labels a row
    is one integer bit mask (factorising those is ~20x faster than
    ``np.unique(axis=0)``, which sorts rows as records)."""
    if rows.shape[1] <= 62:
        masks = rows.astype(np.int64) @ (np.int64(1) << np.arange(rows.shape[1], dtype=np.int64))
        codes, uniques = pd.factorize(masks)
        bits = (np.asarray(uniques)[:, None] >> np.arange(rows.shape[1])) & 1
        return codes, bits.astype(bool)
    distinct, inverse = np.unique(rows, axis=0, return_inverse=True)
    return inverse.ravel(), distinct


class MultiLabel(TaskKind):
    name = "multi_label"
    title = "Multi-label (any set of labels per item)"
    widget = "kinds/multi_label.js"
    keys_hint = "label hotkeys toggle, Enter submits, 0 answers none of these when allowed"
    headline_metric = "micro_f1"
    review_control = "review/controls/label_set.html"

    # -- values ----------------------------------------------------------------

    def validate(self, raw: object, context: KindContext) -> Value:
        if not isinstance(raw, list | tuple) or not all(isinstance(v, str) for v in raw):
            raise InvalidValue("a multi-label answer is a list of label names", "value")
        unknown = sorted(set(raw) - set(context.labels))
        if unknown:
            raise InvalidValue(
                f"labels {unknown} are not in the label set", "value", allowed=list(context.labels)
            )
        if not raw and not context.settings.get("allow_empty", False):
            raise InvalidValue(
                "choose at least one label: this project does not allow an empty answer", "value"
            )
        chosen = set(raw)
        return [label for label in context.labels if label in chosen]

    def key(self, value: Value) -> str:
        return bounded_key(canonical_json(list(value)))

    def review_answer(self, fields: Sequence[str]) -> object:
        """The set picker posts one ``label`` field per checked label (none: the empty
        set)."""
        return list(fields)

    def display(self, value: Value | None) -> str:
        if value is None:
            return ""
        return ", ".join(value) if value else "(none of these)"

    def validate_settings(
        self, settings: Mapping[str, Any], labels: Sequence[str]
    ) -> dict[str, Any]:
        unknown = sorted(set(settings) - {"allow_empty"})
        if unknown:
            raise InvalidValue(f"unknown multi_label settings {unknown}", "task_settings")
        allow_empty = settings.get("allow_empty", False)
        if not isinstance(allow_empty, bool):
            raise InvalidValue("allow_empty must be true or false", "task_settings")
        return {"allow_empty": allow_empty}

    # -- agreement and consensus -----------------------------------------------

    def agreement(self, votes: pd.DataFrame, context: KindContext) -> list[Figure]:
        coded = _label_sets.code_sets(votes, context.labels)
        per_label = _label_sets.per_label(coded)
        reading = "-1..1: 1 perfect, 0 chance; at least 0.8 is reliable, 0.667 tentative"
        return [
            Figure(
                "Krippendorff's alpha (MASI distance)",
                finite_or_none(_label_sets.set_alpha(coded, "masi")),
                reading + "; a partial overlap of sets counts as partial agreement",
            ),
            Figure(
                "Krippendorff's alpha (Jaccard distance)",
                finite_or_none(_label_sets.set_alpha(coded, "jaccard")),
                reading + "; distance 1 - shared labels / labels in either set",
            ),
            *(
                Figure(
                    f"{label}: alpha / kappa",
                    finite_or_none(row.alpha),
                    "this label as a yes/no question; kappa is Fleiss' (-1..1, 0 chance)",
                    {"kappa": finite_or_none(row.kappa), "share_chosen": float(row.share_chosen)},
                )
                for label, row in per_label.iterrows()
            ),
        ]

    def item_consensus(self, values: Sequence[Value], context: KindContext) -> ItemConsensus:
        """Per-label majority: a label is in when more than half the votes chose it;
        a label on exactly half is a tie (no consensus, disputed)."""
        if not values:
            return ItemConsensus(None, 0.0, False, True)
        n = len(values)
        chosen = [sum(label in value for value in values) for label in context.labels]
        shares = [count / n for count in chosen]
        tie = any(abs(share - 0.5) < _TIE for share in shares)
        confidence = min((max(share, 1 - share) for share in shares), default=1.0)
        unanimous = all(count in (0, n) for count in chosen)
        value = (
            None if tie else [lbl for lbl, s in zip(context.labels, shares, strict=True) if s > 0.5]
        )
        disputed = (
            tie
            or confidence < context.dispute_threshold
            or (context.require_unanimity and not unanimous)
        )
        return ItemConsensus(value, confidence, disputed, unanimous)

    def consensus_methods(self) -> tuple[str, ...]:
        return ("majority", "dawid_skene")

    def consensus(self, votes: pd.DataFrame, context: KindContext, method: str) -> pd.DataFrame:
        """Each label decided on its own, by majority or by a binary Dawid-Skene fit
        per label (see :meth:`fit_consensus`)."""
        return self.fit_consensus(votes, context, method).items

    def fit_consensus(
        self,
        votes: pd.DataFrame,
        context: KindContext,
        method: str,
        known: Mapping[Hashable, Value] | None = None,
    ) -> ConsensusFit:
        """Per-label majority, or per-label Dawid-Skene: each label a yes/no question
        with its own fit over the annotators, gold sets (``known``) anchoring every
        label's fit (:mod:`labeler.core.kinds._label_set_consensus`)."""
        coded = _label_sets.code_sets(votes, context.labels)
        yes, voters = coded.yes_counts()
        if method == "majority":
            shares = yes / np.maximum(voters, 1)[:, None]
            return ConsensusFit(self._table(coded, shares, yes, voters, context))
        if method != "dawid_skene":
            raise InvalidValue(f"unknown consensus method {method!r}", "consensus_method")
        fit = _label_set_consensus.dawid_skene(coded, known)
        table = self._table(coded, fit.shares, yes, voters, context)
        return ConsensusFit(table, fit.annotator_accuracy, fit.n_iter, fit.converged)

    def _table(
        self,
        coded: _label_sets.CodedSets,
        shares: np.ndarray,
        yes: np.ndarray,
        voters: np.ndarray,
        context: KindContext,
    ) -> pd.DataFrame:
        tie = (np.abs(shares - 0.5) < _TIE).any(axis=1)
        confidence = np.maximum(shares, 1 - shares).min(axis=1, initial=1.0)
        unanimous = ((yes == 0) | (yes == voters[:, None])).all(axis=1)
        disputed = tie | (confidence < context.dispute_threshold)
        if context.require_unanimity:
            disputed |= ~unanimous
        chosen = shares > 0.5
        # Decode each distinct consensus set once, not once per item.
        inverse, distinct = _row_codes(chosen)
        values = [
            [lbl for lbl, on in zip(coded.labels, row, strict=True) if on] for row in distinct
        ]
        keys = np.asarray([self.key(value) for value in values], dtype=object)[inverse]
        as_objects = np.empty(len(values), dtype=object)
        as_objects[:] = values
        value_column = as_objects[inverse]
        value_column[tie] = None
        keys[tie] = None
        return pd.DataFrame(
            {
                "value": value_column,
                "key": keys,
                "confidence": confidence,
                "unanimous": unanimous,
                "disputed": disputed,
            },
            index=pd.Index(coded.items, name="item"),
        )

    # -- the model -------------------------------------------------------------

    def targets(self, values: Sequence[Value], context: KindContext) -> np.ndarray:
        return _multi_label_model.indicator(values, context.labels)

    def train(
        self,
        X: pd.DataFrame,
        values: Sequence[Value],
        context: KindContext,
        model_settings: Mapping[str, Any],
    ) -> Any:
        return _multi_label_model.train(
            X, self.targets(values, context), context.labels, model_settings
        )

    def predict(self, model: Any, X: pd.DataFrame, context: KindContext) -> list[Value]:
        return _multi_label_model.predict_sets(model, X)

    def evaluate(
        self, model: Any, X: pd.DataFrame, truth: Sequence[Value], context: KindContext
    ) -> dict[str, Any]:
        predicted = _multi_label_model.predict_indicator(model, X)
        return _multi_label_model.metrics(self.targets(truth, context), predicted, context.labels)

    def baselines(
        self, train: Sequence[Value], test: Sequence[Value], context: KindContext
    ) -> dict[str, dict[str, Any]]:
        return _multi_label_model.baselines(
            self.targets(train, context), self.targets(test, context), context.labels
        )

    def human_level(self, votes: pd.DataFrame, context: KindContext) -> dict[str, Any]:
        return _multi_label_model.human_level(_label_sets.code_sets(votes, context.labels))

    def uncertainty(
        self, model: Any, pool: pd.DataFrame, strategy: str, context: KindContext
    ) -> np.ndarray:
        return _multi_label_model.uncertainty(model, pool, strategy)

    def strategies(self) -> tuple[str, ...]:
        return _multi_label_model.STRATEGIES

    def serve(self, model: Any, X: pd.DataFrame, context: KindContext) -> Predictions:
        return _serving.label_sets(model, X, self.key)

    # -- exports ---------------------------------------------------------------

    def csv_cell(self, value: Value | None) -> str:
        if value is None:
            return ""
        escaped = (
            label.replace("\\", "\\\\").replace(SEPARATOR, "\\" + SEPARATOR) for label in value
        )
        return SEPARATOR.join(escaped)

    def parse_csv_cell(self, text: str, context: KindContext) -> Value:
        labels, current, escaping = [], "", False
        for char in text:
            if escaping:
                current, escaping = current + char, False
            elif char == "\\":
                escaping = True
            elif char == SEPARATOR:
                labels.append(current)
                current = ""
            else:
                current += char
        if text:
            labels.append(current)
        return self.validate(labels, context)

    def one_hot(self, value: Value | None, context: KindContext) -> dict[str, int] | None:
        chosen = set(value or ())
        return {label: int(label in chosen) for label in context.labels}
