"""Simulated pairwise judging: systems of known strength, annotators of set accuracy and
position bias, and how well the votes recover the truth.

No public human-preference data set ships offline inside a pip package (alpaca-eval,
trl and the like download theirs), so recovery is measured on simulation, where the
true ranking is known. Per item two distinct systems answer; the truly better response
is drawn from Bradley-Terry on the true strengths. An annotator with ``bias`` b picks
the left side with probability b whatever is shown; otherwise they name the better
response with probability ``accuracy`` and the worse one else. The order shown is
random per vote, as the server draws it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from labeler.core import preference_ranking
from labeler.core.kinds.base import KindContext
from labeler.core.kinds.pairwise import Pairwise


@dataclass(frozen=True)
class Annotator:
    name: str
    accuracy: float = 0.8
    bias: float = 0.0  # share of votes given to the left side regardless, 0..1


def systems(n: int, spread: float = 2.0) -> dict[str, float]:
    """``n`` systems with evenly spaced true log-strengths over ``spread``, best first."""
    return {f"system-{i + 1}": spread / 2 - spread * i / max(n - 1, 1) for i in range(n)}


def simulate(
    strengths: dict[str, float],
    annotators: Sequence[Annotator],
    n_items: int,
    k: int,
    seed: int = 0,
    stronger_as_a: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(items, votes)``: items (``item``, ``system_a``, ``system_b``, ``truth`` A|B) and
    ``k`` votes per item from distinct annotators (``item``, ``annotator``, ``choice``,
    ``shown``, ``key``, ``value``). ``stronger_as_a`` puts the stronger system in slot A
    (so A is truly preferred more often than not, and a side habit shows in the A share).
    """
    rng = np.random.default_rng(seed)
    names = list(strengths)
    a, b = np.array([rng.choice(len(names), 2, replace=False) for _ in range(n_items)]).T
    s = np.array([strengths[n] for n in names])
    if stronger_as_a:
        a, b = np.where(s[a] >= s[b], a, b), np.where(s[a] >= s[b], b, a)
    p_a = 1.0 / (1.0 + np.exp(s[b] - s[a]))
    truth = np.where(rng.random(n_items) < p_a, "A", "B")
    items = pd.DataFrame({"item": np.arange(n_items), "system_a": np.array(names)[a],
                          "system_b": np.array(names)[b], "truth": truth})  # fmt: skip
    rows = []
    for item in range(n_items):
        for who in rng.choice(len(annotators), min(k, len(annotators)), replace=False):
            person = annotators[who]
            shown = "AB" if rng.random() < 0.5 else "BA"
            if rng.random() < person.bias:
                choice = shown[0]
            elif rng.random() < person.accuracy:
                choice = truth[item]
            else:
                choice = "B" if truth[item] == "A" else "A"
            rows.append((item, person.name, choice, shown))
    votes = pd.DataFrame(rows, columns=["item", "annotator", "choice", "shown"])
    votes["key"] = votes["choice"]
    votes["value"] = [
        {"choice": c, "shown": o} for c, o in zip(votes["choice"], votes["shown"], strict=True)
    ]
    return items, votes


def recovered_ranking(
    items: pd.DataFrame, votes: pd.DataFrame, method: str, n_bootstrap: int = 0
) -> pd.DataFrame:
    """The Bradley-Terry ranking of the systems from consensus (``method``: majority |
    dawid_skene) of ``votes``; items whose consensus ties are left out."""
    kind = Pairwise()
    context = KindContext(labels=(), settings=kind.validate_settings({}, []), dispute_threshold=0.0)
    table = kind.consensus(votes, context, method)
    final = items.set_index("item").join(table["key"].rename("choice"), how="inner")
    return preference_ranking.ranking(final.dropna(subset=["choice"]), n_bootstrap=n_bootstrap)


def judged_a_share(items: pd.DataFrame, votes: pd.DataFrame, person: Annotator) -> float:
    """The share of votes for A ``person`` would give without a side habit: right with
    probability ``accuracy`` on their pairs' true winners."""
    truth = items.set_index("item").loc[votes.loc[votes["annotator"] == person.name, "item"]]
    true_a = float((truth["truth"] == "A").mean())
    return person.accuracy * true_a + (1.0 - person.accuracy) * (1.0 - true_a)


def kendall_tau(strengths: dict[str, float], ranking: pd.DataFrame) -> float:
    """Kendall's tau (-1..1, 1 = the same order) between true and recovered strengths;
    a system never compared counts as strength 0."""
    recovered = dict(zip(ranking["system"], ranking["strength"], strict=True))
    names = list(strengths)
    tau = kendalltau([strengths[n] for n in names], [recovered.get(n, 0.0) for n in names])
    return float(tau.statistic)
