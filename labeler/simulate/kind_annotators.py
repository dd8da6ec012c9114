"""Simulated annotators for label sets and rating scales, reproducible as the
single-label ones are (``labeler.simulate.annotators``): an answer depends only on
(seed, annotator, item), never on the order the queue hands items out.

- :class:`SetAnnotator` (multi_label): per label, misses a true label with
  ``noise[label]`` and adds a false one with the same chance (per-label noise).
- :class:`RatingAnnotator` (rating): the true point plus ``bias`` plus Gaussian noise
  of ``noise`` scale points, snapped to the nearest point of the scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from labeler.simulate.annotators import Tally, answer_rng


@dataclass
class SetAnnotator(Tally):
    """Answers label sets; ``noise`` is each label's flip chance (0..1)."""

    labels: list[str] = field(default_factory=list)
    noise: list[float] = field(default_factory=list)
    allow_empty: bool = False

    @property
    def accuracy(self) -> float:
        """The configured chance of a right yes/no decision, averaged over labels."""
        return 1.0 - float(np.mean(self.noise)) if self.noise else 1.0

    def answer(self, external_id: str, truth: Sequence[str]) -> list[str]:
        draws = answer_rng(self.seed, self.index, external_id).random(len(self.labels))
        flips = draws < np.asarray(self.noise)
        chosen = [
            lbl for lbl, flip in zip(self.labels, flips, strict=True) if (lbl in truth) != flip
        ]
        if not chosen and not self.allow_empty:
            # An empty answer is refused: such an annotator keeps the first true label
            # (or, for an empty truth, the label least often flipped).
            chosen = list(truth[:1]) or [self.labels[int(np.argmin(self.noise))]]
        return self.record(external_id, chosen, list(truth))


@dataclass
class RatingAnnotator(Tally):
    """Answers a point of ``points`` (low to high)."""

    points: list[float] = field(default_factory=list)
    noise: float = 0.5
    bias: float = 0.0

    @property
    def accuracy(self) -> float:
        """The configured chance of the exact point on a scale of unit steps, away from
        its ends: P(|bias + noise| < 1/2)."""
        if self.noise <= 0:
            return 1.0 if abs(self.bias) < 0.5 else 0.0
        scale = self.noise * math.sqrt(2)
        return 0.5 * (math.erf((0.5 - self.bias) / scale) - math.erf((-0.5 - self.bias) / scale))

    def answer(self, external_id: str, truth: float) -> int | float:
        drawn = (
            float(truth)
            + self.bias
            + self.noise * answer_rng(self.seed, self.index, external_id).standard_normal()
        )
        point = min(self.points, key=lambda p: abs(p - drawn))
        value = int(point) if float(point).is_integer() else point
        return self.record(external_id, value, truth)


def set_annotators(
    n: int, labels: Sequence[str], seed: int, noise: Sequence[float], allow_empty: bool
) -> list[SetAnnotator]:
    """``n`` multi-label annotators; ``noise`` (one flip chance per annotator, recycled)
    applies to every label."""
    return [
        SetAnnotator(
            f"sim-a{i + 1}",
            seed,
            i,
            labels=list(labels),
            noise=[float(noise[i % len(noise)])] * len(labels),
            allow_empty=allow_empty,
        )
        for i in range(n)
    ]


def rating_annotators(
    n: int, points: Sequence[float], seed: int, noise: Sequence[float], bias: float = 0.0
) -> list[RatingAnnotator]:
    """``n`` rating annotators; ``noise`` (scale points, per annotator, recycled)."""
    return [
        RatingAnnotator(
            f"sim-a{i + 1}",
            seed,
            i,
            points=list(points),
            noise=float(noise[i % len(noise)]),
            bias=bias,
        )
        for i in range(n)
    ]
