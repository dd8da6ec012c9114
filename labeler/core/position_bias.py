"""Position bias in pairwise votes: how often each annotator picks the left side.

The server shows each annotator a pair in a random left/right order and records the
order (``shown``: ``"AB"`` = A on the left). With the order random, an annotator
without a preference for a side votes "left" on half their decided pairs whatever the
responses are. An annotator who, with probability ``bias``, picks the left side
regardless, and otherwise judges, votes left ``0.5 + bias / 2`` of the time; so
``bias = 2 * left_share - 1`` estimates it, and their judged share for A is recovered
from the observed one: ``a_share = (observed_a - bias / 2) / (1 - bias)``.
"""

from __future__ import annotations

import math

import pandas as pd


def side(choice: str, shown: str | None) -> str | None:
    """``"left"`` / ``"right"`` for a vote for A or B shown in ``shown`` order, else None."""
    if choice not in ("A", "B") or shown not in ("AB", "BA"):
        return None
    return "left" if shown[0] == choice else "right"


def report(votes: pd.DataFrame) -> pd.DataFrame:
    """One row per annotator from ``annotator``, ``choice``, ``shown`` votes.

    Columns: ``n_decided`` (votes for A or B with a recorded order), ``left_share``
    (0..1), ``expected`` (0.5: the order is random), ``z`` (standard score of the left
    share against 0.5; beyond +-2 is unlikely by chance), ``bias`` (-1..1: the share of
    votes given to the left side regardless; negative for a right-side habit),
    ``a_share`` (observed share of votes for A) and ``a_share_corrected`` (the share
    with the side habit taken out, using how often A was really shown on the left;
    None when the annotator always picks one side).
    """
    sides = [side(c, s) for c, s in zip(votes["choice"], votes["shown"], strict=True)]
    frame = votes.assign(side=sides).dropna(subset=["side"])
    rows = []
    for annotator, group in frame.groupby("annotator", sort=True):
        n = len(group)
        left = float((group["side"] == "left").mean())
        a_share = float((group["choice"] == "A").mean())
        a_left = float((group["shown"] == "AB").mean())
        bias = 2.0 * left - 1.0
        rows.append(
            {
                "annotator": annotator,
                "n_decided": n,
                "left_share": left,
                "expected": 0.5,
                "z": (left - 0.5) / math.sqrt(0.25 / n),
                "bias": bias,
                "a_share": a_share,
                "a_share_corrected": corrected_a_share(a_share, bias, a_left),
            }
        )
    columns = ["annotator", "n_decided", "left_share", "expected", "z", "bias", "a_share"]
    return pd.DataFrame(rows, columns=[*columns, "a_share_corrected"])


def corrected_a_share(a_share: float, bias: float, a_left: float) -> float | None:
    """The judged share for A behind an observed ``a_share`` (0..1).

    A left habit of strength ``bias`` gives A a vote whenever A sat on the left
    (``a_left`` of the pairs): ``a_share = bias * a_left + (1 - bias) * judged``.
    A right habit (``bias`` < 0) gives A the pairs where A sat on the right.
    """
    habit = abs(bias)
    if habit >= 1.0:
        return None
    a_on_habit_side = a_left if bias >= 0 else 1.0 - a_left
    judged = (a_share - habit * a_on_habit_side) / (1.0 - habit)
    return min(max(judged, 0.0), 1.0)
