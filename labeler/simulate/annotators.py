"""Simulated annotators: each answers from a known confusion matrix, reproducibly.

An annotator's answer to an item depends only on (seed, annotator, item), not
on the order the queue hands items out, so two runs with the same seed give the
same noise to the same items whatever the sampling strategy.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


def answer_rng(seed: int, index: int, external_id: str) -> np.random.Generator:
    """The generator of one annotator's answer to one item: (seed, annotator, item) alone."""
    return np.random.default_rng([seed, index, zlib.crc32(external_id.encode())])


@dataclass
class Tally:
    """What every simulated annotator records (the run and its report read it)."""

    name: str
    seed: int
    index: int
    right: int = 0
    answered: int = 0
    token: str = ""
    user_id: int = 0
    exhausted: bool = False
    answers: dict[str, Any] = field(default_factory=dict)

    def record(self, external_id: str, answer: Any, truth: Any) -> Any:
        self.answered += 1
        self.right += answer == truth
        self.answers[external_id] = answer
        return answer

    def observed_accuracy(self) -> float | None:
        """The share of answers exactly right."""
        return self.right / self.answered if self.answered else None


@dataclass
class SimulatedAnnotator(Tally):
    """``confusion[true][answer]`` is the chance of ``answer`` when the truth is ``true``.

    ``accuracy`` is the mean of the diagonal (the chance of a right answer on an
    item of a label picked uniformly); :meth:`observed_accuracy` is what happened.
    """

    labels: list[str] = field(default_factory=list)
    confusion: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def accuracy(self) -> float:
        return float(np.mean(np.diag(self.confusion)))

    def answer(self, external_id: str, truth: str) -> str:
        row = self.confusion[self.labels.index(truth)]
        rng = answer_rng(self.seed, self.index, external_id)
        label = self.labels[int(rng.choice(len(self.labels), p=row))]
        return str(self.record(external_id, label, truth))


def uniform_confusion(labels: Sequence[str], accuracy: float) -> np.ndarray:
    """Right with ``accuracy``; a wrong answer is any other label, equally likely."""
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"accuracy must be between 0 and 1, not {accuracy}")
    n = len(labels)
    matrix = np.full((n, n), (1.0 - accuracy) / max(n - 1, 1))
    np.fill_diagonal(matrix, accuracy if n > 1 else 1.0)
    return matrix


def read_confusions(path: Path, labels: Sequence[str]) -> list[np.ndarray]:
    """Confusion matrices from JSON: one ``{"true": {"answer": p, ...}, ...}`` object or
    a list of them (one per annotator, recycled); each row is normalised to sum 1."""
    data = json.loads(Path(path).read_text())
    matrices = data if isinstance(data, list) else [data]
    result = []
    for number, spec in enumerate(matrices, start=1):
        matrix = np.zeros((len(labels), len(labels)))
        for i, true in enumerate(labels):
            row = spec.get(true)
            if not isinstance(row, dict):
                raise ValueError(f"confusion matrix {number}: no row for label {true!r}")
            for answer, p in row.items():
                if answer not in labels:
                    raise ValueError(f"confusion matrix {number}: unknown label {answer!r}")
                matrix[i, labels.index(answer)] = float(p)
            if matrix[i].sum() <= 0:
                raise ValueError(f"confusion matrix {number}: row {true!r} sums to 0")
            matrix[i] /= matrix[i].sum()
        result.append(matrix)
    return result


def make_annotators(
    n: int,
    labels: Sequence[str],
    seed: int,
    accuracies: Sequence[float] = (0.9,),
    confusions: Sequence[np.ndarray] | None = None,
    prefix: str = "sim",
) -> list[SimulatedAnnotator]:
    """``n`` annotators; accuracies (or confusion matrices) are recycled in order."""
    matrices = (
        list(confusions) if confusions else [uniform_confusion(labels, a) for a in accuracies]
    )
    return [
        SimulatedAnnotator(
            f"{prefix}-a{i + 1}",
            seed,
            i,
            labels=list(labels),
            confusion=matrices[i % len(matrices)],
        )
        for i in range(n)
    ]
