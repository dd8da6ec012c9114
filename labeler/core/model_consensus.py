"""Consensus that weighs the model in: each item's label from its votes and the model's
out-of-sample probabilities, each weighted by how reliable it has proven.

The idea is CROWDLAB's (Goh, Tkachenko and Mueller, 2022; cleanlab's
``get_label_quality_multiannotator``): start from majority vote (ties broken by the
model), estimate each annotator's agreement with the others and the model's agreement
with that consensus, turn both into weights against the error of always answering the
commonest class, and average the model's probabilities with each vote's likelihood.
The consensus is the top of that average. Its quality (0..1) is the chance that
the consensus label is right: its posterior with the model's probabilities as the
prior and each vote right with its annotator's estimated quality. CROWDLAB's own score
(the average's value at the consensus) ranks wrong consensus labels less well (AUROC
for "this consensus is wrong", calibrated probabilities: 0.864 against 0.942 on digits
at k = 1, 0.910 against 0.941 on SMS; benchmarks/README.md, label quality); it is kept
as ``crowdlab_quality``. The label stays CROWDLAB's: the posterior's own top label
was measured as the consensus and is less accurate on digits (0.922 against 0.934 at
k = 1, 0.971 against 0.987 at k = 2; more accurate on SMS by 0.4-0.9 points); where the
two differ the quality is at most 1/2, so the item is disputed under the default
threshold, and the posterior's top is given as ``likeliest_label`` for the caller that
must decide without a reviewer. It helps most where labels
are sparse (k = 1-2), where Dawid-Skene has too few votes per annotator to learn from.

Where it departs from cleanlab: with no item labeled twice (k = 1) cleanlab stops;
here each annotator's agreement is then estimated as the model's mean probability for
the labels they gave, so a careless annotator still weighs less than a careful one.
And gold answers (``known``) anchor the weights, as they anchor Dawid-Skene: a known
answer counts as one more vote from an annotator who never errs, so with two
annotators who agree with each other equally often, the one who matches the gold
weighs more; with one vote per item, a vote on a gold item counts as right or wrong
where the others count as the model's probability for them; the model's weight is
measured against the gold answers too.

Input is the long ``item``, ``annotator``, ``label`` frame and an items x labels frame
of probabilities. The idea carries to any kind with class probabilities (multi-label
one label at a time); ratings, spans and pairwise choices need their own likelihoods.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from labeler.core._agreement_codes import CodedRatings, FloatArray, IntArray, encode

_FLOOR = 1e-6  # cleanlab's CLIPPING_LOWER_BOUND: no weight is ever exactly 0


@dataclass(frozen=True)
class ModelAwareResult:
    """What model-aware consensus found.

    ``items``: per item ``label``, ``confidence`` (the consensus quality, 0..1: the
    chance that the consensus label is right, also as ``correct_probability``, see
    :meth:`relabel_scores`), ``crowdlab_quality`` (CROWDLAB's consensus quality score,
    cleanlab's ``consensus_quality_score``), ``likeliest_label`` and
    ``likeliest_probability`` (the top of the same posterior that gives the quality: where
    it is not ``label``, the quality is at most 1/2 and the item is disputed under the
    default threshold), ``support`` (votes), ``unanimous``,
    ``disputed`` (False; apply a threshold with :func:`labeler.core.consensus.disputed`)
    and ``vote_weight``. ``posteriors``: items x labels,
    rows sum to 1. ``annotator_quality``: 0..1, how often each annotator's labels are
    right, judged by the posteriors and by agreement with the consensus.
    ``annotator_weight`` and ``model_weight``: the reliability weights (> 0; a
    weight 1 counts like an annotator who never errs; the model's is scaled by the
    square root of the mean votes per item).
    """

    items: pd.DataFrame
    posteriors: pd.DataFrame
    annotator_quality: pd.Series
    annotator_weight: pd.Series
    model_weight: float

    def relabel_scores(self, unlabeled: pd.DataFrame | None = None) -> tuple[pd.Series, pd.Series]:
        """How much one more label would help, for labeled and unlabeled items (the idea
        of ActiveLab), on one scale: the probability that the item's current answer is
        wrong (0..1; an unlabeled item's at most 1 - 1/K); serve the highest first.

        A labeled item's is 1 minus ``correct_probability`` (its consensus label's
        posterior when the model's probabilities are the prior and each vote counts
        with its annotator's quality); an unlabeled item's is 1 minus the model's top
        probability, the same formula without votes. ActiveLab's own scores (the
        consensus quality shrunk towards chance) were not on one scale through the
        server's loop: the 50 weakest labeled items scored 0.51 with 9% of their labels
        wrong, the next fresh items 0.67 with 50% of the model's guesses wrong
        (``bench_label_quality_loop.py``, digits, k = 1). ``unlabeled`` holds items x
        labels probabilities.
        """
        labeled = pd.Series(
            1.0 - self.items["correct_probability"].to_numpy(), index=self.items.index
        ).rename("relabel")
        if unlabeled is None or not len(unlabeled):
            return labeled, pd.Series(dtype=np.float64, name="first_label")
        top = unlabeled.to_numpy(dtype=np.float64).max(axis=1)
        return labeled, pd.Series(1.0 - top, index=unlabeled.index, name="first_label")


def _vote_posterior(coded: CodedRatings, probs: FloatArray, quality: FloatArray) -> FloatArray:
    """Items x labels posterior: the model's probabilities as the prior, each vote right
    with its annotator's ``quality`` (at least chance, so a vote never counts against
    its label) and otherwise any other label alike."""
    n_labels = probs.shape[1]
    right = np.clip(quality, 1.0 / n_labels, 1.0 - 1e-6)[coded.annotator]
    wrong = np.log((1.0 - right) / max(n_labels - 1, 1))
    log_post = np.log(np.clip(probs, _FLOOR, None))
    np.add.at(log_post, coded.item, wrong[:, None])  # every label gets the 'wrong' term
    np.add.at(log_post, (coded.item, coded.label), np.log(right) - wrong)
    log_post -= log_post.max(axis=1, keepdims=True)
    posterior: FloatArray = np.exp(log_post)
    posterior /= posterior.sum(axis=1, keepdims=True)
    return posterior


def _agreement_with_others(
    coded: CodedRatings, counts: IntArray, support: IntArray, gold: IntArray
) -> FloatArray:
    """Per annotator, the share of the other votes on their items that match theirs
    (NaN for an annotator who shares no item with anyone). A gold item's known answer
    (``gold``: per item a label code, -1 for none) counts as one more vote, from an
    annotator who never errs."""
    n_annotators = len(coded.annotators)
    known = gold[coded.item] >= 0
    others = support[coded.item] - 1 + known
    matching = counts[coded.item, coded.label] - 1 + (coded.label == gold[coded.item])
    agree = np.bincount(coded.annotator, weights=matching, minlength=n_annotators)
    total = np.bincount(coded.annotator, weights=others, minlength=n_annotators)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, agree / np.maximum(total, 1), np.nan)


def _own_label_probability(coded: CodedRatings, probs: FloatArray, gold: IntArray) -> FloatArray:
    """Per annotator, the model's mean probability for the labels they gave; a vote on a
    gold item counts 1 when it matches the known answer, else 0."""
    n_annotators = len(coded.annotators)
    known = gold[coded.item]
    given = np.where(known >= 0, coded.label == known, probs[coded.item, coded.label])
    total = np.bincount(coded.annotator, weights=given, minlength=n_annotators)
    return total / np.maximum(np.bincount(coded.annotator, minlength=n_annotators), 1)


@dataclass(frozen=True)
class _Weights:
    annotator: FloatArray
    model: float
    vote_likelihood: float


def _weights(
    coded: CodedRatings, counts: IntArray, probs: FloatArray, consensus: IntArray, gold: IntArray
) -> _Weights:
    support = counts.sum(axis=1)
    multi = support > 1
    agreement = _agreement_with_others(coded, counts, support, gold)
    if not multi.any():  # k = 1: judged by the model, and by gold answers where there are some
        agreement = _own_label_probability(coded, probs, gold)
        scope = np.ones(len(support), dtype=bool)
        likelihood = float(agreement.mean())
    else:
        agreement = np.where(np.isnan(agreement), np.nanmean(agreement), agreement)
        scope = multi.copy()
        likelihood = float((counts[multi, consensus[multi]] / support[multi]).mean())
    # The model and the baseline are judged against the known answer where there is one.
    known = gold >= 0
    truth = np.where(known, gold, consensus)
    scope |= known
    chosen = truth[scope]
    commonest = np.bincount(chosen, minlength=probs.shape[1]).argmax()
    baseline_error = max(float(np.mean(chosen != commonest)), _FLOOR)
    annotator = np.clip(1.0 - (1.0 - agreement) / baseline_error, _FLOOR, None)
    model_error = float(np.mean(probs[scope].argmax(axis=1) != chosen))
    model = max(1.0 - model_error / baseline_error, _FLOOR) * float(np.sqrt(support.mean()))
    return _Weights(annotator, model, likelihood)


def _posteriors(coded: CodedRatings, probs: FloatArray, weights: _Weights) -> FloatArray:
    """The weighted average of the model's probabilities and each vote's likelihood
    (its label with the annotators' mean agreement, the rest share what is left)."""
    n_items, n_labels = probs.shape
    vote_weight = weights.annotator[coded.annotator]
    for_label = np.bincount(
        coded.item * n_labels + coded.label, weights=vote_weight, minlength=n_items * n_labels
    ).reshape(n_items, n_labels)
    per_item = np.bincount(coded.item, weights=vote_weight, minlength=n_items)
    right = weights.vote_likelihood
    wrong = (1.0 - right) / max(n_labels - 1, 1)
    blended = weights.model * probs + for_label * right + (per_item[:, None] - for_label) * wrong
    posterior: FloatArray = blended / (weights.model + per_item)[:, None]
    return posterior


def _annotator_quality(
    coded: CodedRatings, posteriors: FloatArray, consensus: IntArray, weights: _Weights
) -> FloatArray:
    n_annotators = len(coded.annotators)
    given = np.maximum(np.bincount(coded.annotator, minlength=n_annotators), 1)
    label_quality = (
        np.bincount(
            coded.annotator,
            weights=posteriors[coded.item, coded.label],
            minlength=n_annotators,
        )
        / given
    )
    support = np.bincount(coded.item, minlength=posteriors.shape[0])
    multi = support[coded.item] > 1
    agrees = (coded.label == consensus[coded.item]) & multi
    shared = np.bincount(coded.annotator[multi], minlength=n_annotators)
    agreement = np.bincount(coded.annotator[agrees], minlength=n_annotators) / np.maximum(shared, 1)
    spread = weights.annotator.sum() * support.mean() / n_annotators
    share = weights.model / (weights.model + spread)
    quality: FloatArray = np.where(
        shared > 0, share * label_quality + (1 - share) * agreement, label_quality
    )
    return quality


def _gold_codes(coded: CodedRatings, known: Mapping[Hashable, Hashable] | None) -> IntArray:
    """Per item the known label's code, -1 where there is none (see ``known`` below)."""
    gold = np.full(len(coded.items), -1, dtype=np.int64)
    if not known:
        return gold
    items = coded.items.get_indexer(pd.Index(list(known.keys()), dtype=object))
    labels = coded.labels.get_indexer(pd.Index(list(known.values()), dtype=object))
    if (items < 0).any():
        absent = sorted(str(item) for item, code in zip(known, items, strict=True) if code < 0)
        raise ValueError(f"known lists items that have no votes: {absent[:10]}")
    if (labels < 0).any():
        raise ValueError("known labels must be columns of probs")
    gold[items] = labels
    return gold


def model_aware_consensus(
    frame: pd.DataFrame, probs: pd.DataFrame, known: Mapping[Hashable, Hashable] | None = None
) -> ModelAwareResult:
    """Consensus of votes and the model's out-of-sample probabilities (see module doc).

    Args:
        frame: long votes, columns item, annotator, label.
        probs: items x labels probabilities (rows sum to 1) for every item of
            ``frame``; its columns are the label set (a label no one used is a class).
        known: gold items -> their true label. They anchor the reliability weights:
            each known answer counts as one more vote, from an annotator who never
            errs, in every annotator's agreement, and the model's error and the
            baseline are measured against it. A gold item's own consensus still
            comes from its votes and the model, as any other's (as for Dawid-Skene).

    Raises:
        ValueError: an item of ``frame`` has no probabilities, a vote's label is
            not a column of ``probs``, or ``known`` names an item without votes or a
            label that is not a column.
    """
    coded = encode(frame, order=list(probs.columns))
    rows = probs.index.get_indexer(coded.items)
    if (rows < 0).any():
        absent = sorted(map(str, coded.items[rows < 0]))
        raise ValueError(f"items without model probabilities: {absent[:10]}")
    model = probs.to_numpy(dtype=np.float64)[rows]
    gold = _gold_codes(coded, known)
    counts = coded.counts()
    majority = (counts + 0.5 * model).argmax(axis=1)  # a tie goes the model's way
    weights = _weights(coded, counts, model, majority, gold)
    posteriors = _posteriors(coded, model, weights)
    top = posteriors.max(axis=1, keepdims=True)
    tied = (posteriors >= top - 1e-12).sum(axis=1) > 1
    consensus = np.where(tied, majority, posteriors.argmax(axis=1))
    weights = _weights(coded, counts, model, consensus, gold)  # again, against the better consensus
    posteriors = _posteriors(coded, model, weights)
    annotator_quality = _annotator_quality(coded, posteriors, consensus, weights)
    vote_posterior = _vote_posterior(coded, model, annotator_quality)
    rows = np.arange(len(consensus))
    correct = vote_posterior[rows, consensus]
    likeliest = vote_posterior.argmax(axis=1)
    support = counts.sum(axis=1)
    items = pd.DataFrame(
        {
            "label": pd.Series(np.asarray(coded.labels, dtype=object)[consensus], dtype=object),
            "confidence": correct,
            "crowdlab_quality": posteriors[rows, consensus],
            "correct_probability": correct,
            "likeliest_label": pd.Series(
                np.asarray(coded.labels, dtype=object)[likeliest], dtype=object
            ),
            "likeliest_probability": vote_posterior[rows, likeliest],
            "support": support,
            "unanimous": (counts > 0).sum(axis=1) == 1,
            "disputed": np.zeros(len(consensus), dtype=bool),
            "vote_weight": np.bincount(
                coded.item, weights=weights.annotator[coded.annotator], minlength=len(support)
            ),
        }
    ).set_axis(pd.Index(coded.items, name="item"))
    return ModelAwareResult(
        items=items,
        posteriors=pd.DataFrame(
            posteriors, index=items.index, columns=pd.Index(coded.labels, name="label")
        ),
        annotator_quality=pd.Series(
            annotator_quality,
            index=coded.annotators,
            name="quality",
        ),
        annotator_weight=pd.Series(weights.annotator, index=coded.annotators, name="weight"),
        model_weight=weights.model,
    )
