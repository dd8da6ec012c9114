"""rating: a point on an ordinal or interval scale (1-5, -4..4, ...).

The scale is the project's label set, low to high, each label a number (``"-4"`` ...
``"4"``) with an optional description per point; ``label_scale`` says ordinal or
interval. The value is the number, its key the point's label. Consensus is the
median (ordinal, the lower median on an even count, so it stays a point) or the mean
(interval) with the votes' spread (population standard deviation, in scale units);
an item is disputed when the spread exceeds the ``max_spread`` setting (default 1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from labeler.core import agreement
from labeler.core.kinds import _rating_figures, _rating_model, _serving
from labeler.core.kinds.base import (
    Figure,
    InvalidValue,
    ItemConsensus,
    KindContext,
    Predictions,
    TaskKind,
    Value,
    finite_or_none,
)

DEFAULT_MAX_SPREAD = 1.0


def points(context: KindContext) -> list[float]:
    return [float(label) for label in context.labels]


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


class Rating(TaskKind):
    name = "rating"
    title = "Rating (a point on an ordinal or interval scale)"
    widget = "kinds/rating.js"
    keys_hint = "number keys pick a point of the scale (low to high)"
    headline_metric = "mae"
    headline_higher_is_better = False
    review_control = "review/controls/scale.html"

    def validate(self, raw: object, context: KindContext) -> Value:
        if isinstance(raw, bool):
            raise InvalidValue("a rating is a number on the scale", "value")
        try:
            number = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InvalidValue("a rating is a number on the scale", "value") from None
        scale = points(context)
        if not any(math.isclose(number, point) for point in scale):
            raise InvalidValue(
                f"{raw!r} is not a point of the scale", "value", allowed=list(context.labels)
            )
        return _number(number)

    def key(self, value: Value) -> str:
        return str(_number(float(value)))

    def validate_settings(
        self, settings: Mapping[str, Any], labels: Sequence[str]
    ) -> dict[str, Any]:
        try:
            scale = [float(label) for label in labels]
        except ValueError:
            raise InvalidValue(
                "a rating scale's labels are its points, numbers low to high (e.g. 1..5)",
                "labels",
            ) from None
        if scale != sorted(scale) or len(set(scale)) != len(scale) or len(scale) < 2:
            raise InvalidValue("the scale's points must be at least two, increasing", "labels")
        if any(label != str(_number(point)) for label, point in zip(labels, scale, strict=True)):
            raise InvalidValue("write each point plainly, e.g. 3 or -1.5 (not 03 or 3.0)", "labels")
        unknown = sorted(set(settings) - {"max_spread"})
        if unknown:
            raise InvalidValue(f"unknown rating settings {unknown}", "task_settings")
        spread = settings.get("max_spread", DEFAULT_MAX_SPREAD)
        if isinstance(spread, bool) or not isinstance(spread, int | float) or spread < 0:
            raise InvalidValue("max_spread must be a number of scale units >= 0", "task_settings")
        return {"max_spread": float(spread)}

    def _level(self, context: KindContext) -> str:
        return "interval" if context.label_scale == "interval" else "ordinal"

    # -- agreement and consensus -----------------------------------------------

    def agreement(self, votes: pd.DataFrame, context: KindContext) -> list[Figure]:
        numeric = votes.assign(value=votes["value"].astype(float))
        frame = pd.DataFrame(
            {"item": numeric["item"], "annotator": numeric["annotator"], "label": numeric["value"]}
        )
        level = self._level(context)
        order = points(context) if level == "ordinal" else None
        alpha = agreement.krippendorff_alpha(frame, level=level, order=order)  # type: ignore[arg-type]
        pairs = _rating_figures.pairwise_qwk(frame, points(context))
        scored = pairs.dropna(subset=["kappa"])
        mean_qwk = (
            float(np.average(scored["kappa"], weights=scored["n_items"])) if len(scored) else None
        )
        return [
            Figure(
                f"Krippendorff's alpha ({level})",
                finite_or_none(alpha.value),
                "-1..1: 1 perfect, 0 chance; at least 0.8 is reliable, 0.667 tentative",
            ),
            Figure(
                "Quadratic-weighted kappa (mean over pairs)",
                mean_qwk,
                "-1..1 per annotator pair, weighted by shared items; near misses cost little",
                {"n_pairs": len(scored)},
            ),
            Figure(
                "Intraclass correlation ICC(1)",
                finite_or_none(_rating_figures.icc1(numeric)),
                "-1..1: below 0.5 poor, 0.5-0.75 moderate, 0.75-0.9 good, above 0.9 excellent",
            ),
        ]

    def _centre(self, values: np.ndarray, context: KindContext) -> float:
        if self._level(context) == "interval":
            return float(values.mean())
        ordered = np.sort(values)
        return float(ordered[(len(ordered) - 1) // 2])  # the lower median: a scale point

    def item_consensus(self, values: Sequence[Value], context: KindContext) -> ItemConsensus:
        if not values:
            return ItemConsensus(None, 0.0, False, True)
        numbers = np.asarray([float(v) for v in values])
        scale = points(context)
        spread = float(numbers.std())
        width = max(scale[-1] - scale[0], 1e-12)
        max_spread = float(context.settings.get("max_spread", DEFAULT_MAX_SPREAD))
        unanimous = bool((numbers == numbers[0]).all())
        disputed = spread > max_spread or (context.require_unanimity and not unanimous)
        centre = _number(round(self._centre(numbers, context), 6))
        return ItemConsensus(centre, max(0.0, 1.0 - spread / width), disputed, unanimous)

    def consensus(self, votes: pd.DataFrame, context: KindContext, method: str) -> pd.DataFrame:
        if method != "majority":
            raise InvalidValue(f"unknown consensus method {method!r}", "consensus_method")
        groups = votes.groupby("item", sort=True)["value"]
        rows = {item: self.item_consensus(list(group), context) for item, group in groups}
        return pd.DataFrame(
            {
                "value": [row.value for row in rows.values()],
                "key": [self.key(row.value) for row in rows.values()],
                "confidence": [row.confidence for row in rows.values()],
                "unanimous": [row.unanimous for row in rows.values()],
                "disputed": [row.disputed for row in rows.values()],
            },
            index=pd.Index(list(rows), name="item"),
        )

    # -- the model -------------------------------------------------------------

    def targets(self, values: Sequence[Value], context: KindContext) -> np.ndarray:
        return np.asarray([float(v) for v in values], dtype=np.float64)

    def train(
        self,
        X: pd.DataFrame,
        values: Sequence[Value],
        context: KindContext,
        model_settings: Mapping[str, Any],
    ) -> Any:
        return _rating_model.train(
            X, self.targets(values, context), points(context), model_settings
        )

    def predict(self, model: Any, X: pd.DataFrame, context: KindContext) -> list[Value]:
        snapped = self._level(context) == "ordinal"
        return [_number(v) for v in _rating_model.predict(model, X, snap=snapped)]

    def evaluate(
        self, model: Any, X: pd.DataFrame, truth: Sequence[Value], context: KindContext
    ) -> dict[str, Any]:
        predicted = _rating_model.predict(model, X, snap=False)
        return _rating_model.metrics(self.targets(truth, context), predicted, points(context))

    def baselines(
        self, train: Sequence[Value], test: Sequence[Value], context: KindContext
    ) -> dict[str, dict[str, Any]]:
        return _rating_model.baselines(
            self.targets(train, context), self.targets(test, context), points(context)
        )

    def human_level(self, votes: pd.DataFrame, context: KindContext) -> dict[str, Any]:
        return _rating_model.human_level(votes, interval=self._level(context) == "interval")

    def uncertainty(
        self, model: Any, pool: pd.DataFrame, strategy: str, context: KindContext
    ) -> np.ndarray:
        return _rating_model.uncertainty(model, pool, strategy)

    def strategies(self) -> tuple[str, ...]:
        return _rating_model.STRATEGIES

    def serve(self, model: Any, X: pd.DataFrame, context: KindContext) -> Predictions:
        snapped = self._level(context) == "ordinal"
        return _serving.ratings(model, X, snapped, _number, lambda v: self.mix_key(v, context))

    def mix_key(self, value: Value, context: KindContext) -> str:
        """The nearest point of the scale (an interval rating may fall between points)."""
        return self.key(_number(_serving.nearest_point(float(value), points(context))))
