"""One label per item from several annotators' votes: majority vote and Dawid-Skene.

Input is the long ``item``, ``annotator``, ``label`` frame (crowd-kit's contract).
Ties are never resolved by label order: a tied item gets ``label=None`` and is
disputed, and :func:`disputed` applies a project's threshold or unanimity rule.

Dawid-Skene is EM on integer codes. Both steps are one sparse product each
(items x (annotator, label) counts, built once), so an iteration over a million
annotations costs milliseconds. scipy.sparse comes with scikit-learn.

Items whose true label is known (gold items) can anchor the fit: their posterior
is clamped to the known label, so each annotator's confusion matrix is learnt
from them as from certain truth (semi-supervised Dawid-Skene).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import sparse

from labeler.core._agreement_codes import CodedRatings, FloatArray, IntArray, encode

_LOG_FLOOR = 1e-10  # as crowd-kit: a probability of exactly 0 must not give log(0)
_TIE = 1e-9


def _item_table(
    coded: CodedRatings, scores: FloatArray, support: IntArray, counts: IntArray
) -> pd.DataFrame:
    """label (None on a tie), confidence (top score, 0..1), support, unanimous, disputed."""
    top = scores.max(axis=1, initial=0.0)
    tied = (scores >= top[:, None] - _TIE).sum(axis=1) > 1
    label = np.asarray(coded.labels, dtype=object)[scores.argmax(axis=1)] if len(top) else top
    label = np.asarray(label, dtype=object)
    label[tied] = None
    return pd.DataFrame(
        {
            "label": pd.Series(label, dtype=object),
            "confidence": top,
            "support": support,
            "unanimous": (counts > 0).sum(axis=1) == 1,
            "disputed": tied,
        },
    ).set_axis(pd.Index(coded.items, name="item"))


def majority_vote(frame: pd.DataFrame) -> pd.DataFrame:
    """The most voted label per item.

    Returns a frame indexed by item: ``label`` (None when the top labels tie),
    ``confidence`` (share of votes for the top label, 0..1), ``support`` (votes),
    ``unanimous`` and ``disputed`` (True on a tie; apply thresholds with
    :func:`disputed`).
    """
    coded = encode(frame)
    counts = coded.counts()
    support = counts.sum(axis=1)
    return _item_table(coded, counts / np.maximum(support, 1)[:, None], support, counts)


def disputed(
    items: pd.DataFrame,
    threshold: float = 0.0,
    unanimity: bool = False,
    votes: pd.DataFrame | None = None,
) -> pd.Series:
    """Which consensus items a reviewer must settle.

    An item is disputed when its top labels tie (``label`` is None), when its
    ``confidence`` is below ``threshold`` (0..1), or, with ``unanimity``, when its
    annotators gave more than one label (from ``votes`` if given, else the
    ``unanimous`` column of :func:`majority_vote` / :func:`dawid_skene` items).
    """
    flagged = items["label"].isna() | (items["confidence"] < threshold)
    if unanimity:
        if votes is not None:
            unanimous = votes.groupby("item")["label"].nunique() <= 1
        else:
            unanimous = items["unanimous"]
        flagged |= ~unanimous.reindex(items.index, fill_value=True).astype(bool)
    return flagged.rename("disputed")


@dataclass(frozen=True)
class DawidSkeneResult:
    """What Dawid-Skene estimated.

    ``items``: per item ``label`` (None when the top posteriors tie), ``confidence``
    (posterior of that label, 0..1), ``support`` (votes), ``unanimous``, ``disputed``.
    ``posteriors``: items x labels, each row sums to 1. ``confusion_array``:
    annotators x true x given, each row P(given | true) summing to 1.
    ``annotator_accuracy``: expected share of each annotator's labels that are
    correct under the posteriors, 0..1. ``priors``: estimated label shares.
    """

    items: pd.DataFrame
    posteriors: pd.DataFrame
    confusion_array: FloatArray
    annotator_accuracy: pd.Series
    priors: pd.Series
    n_iter: int
    converged: bool

    @cached_property
    def confusions(self) -> dict[Hashable, pd.DataFrame]:
        """Per annotator, the true x given confusion matrix as a labeled frame."""
        true = pd.Index(self.posteriors.columns, name="true")
        given = pd.Index(self.posteriors.columns, name="given")
        return {
            annotator: pd.DataFrame(matrix, index=true, columns=given)
            for annotator, matrix in zip(
                self.annotator_accuracy.index, self.confusion_array, strict=True
            )
        }

    def items_from_votes(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The item table (as ``items``) for ``frame``'s items read from their votes
        alone under the fitted confusions and priors, with no label clamped.

        For items fitted with ``known`` this says what their annotators' votes
        point to, which the fitted ``items`` (the known label) does not. Every
        annotator and label in ``frame`` must have been in the fit (ValueError).
        """
        coded = encode(frame, order=self.posteriors.columns)
        fitted = self.annotator_accuracy.index
        codes = fitted.get_indexer(coded.annotators)
        if (codes < 0).any():
            unknown = sorted(map(str, coded.annotators[codes < 0]))
            raise ValueError(f"annotators not in the fit: {unknown[:10]}")
        coded = replace(coded, annotator=codes[coded.annotator], annotators=fitted)
        priors = self.priors.to_numpy(dtype=np.float64)
        posteriors, _ = _e_step(_votes(coded), priors, self.confusion_array)
        counts = coded.counts()
        return _item_table(coded, posteriors.T.copy(), counts.sum(axis=1), counts)


@dataclass(frozen=True)
class _Votes:
    """Sparse vote incidence, built once per fit: items x (annotator, given label)."""

    by_item: sparse.csr_matrix
    by_group: sparse.csr_matrix
    n_annotators: int
    n_labels: int


def _votes(coded: CodedRatings) -> _Votes:
    n_labels, n_annotators = len(coded.labels), len(coded.annotators)
    group = coded.annotator * n_labels + coded.label
    shape = (len(coded.items), n_annotators * n_labels)
    ones = np.ones(coded.n_annotations)
    by_item = sparse.csr_matrix((ones, (coded.item, group)), shape=shape)
    return _Votes(by_item, by_item.T.tocsr(), n_annotators, n_labels)


@dataclass(frozen=True)
class _Known:
    """Items of known true label: their codes, and a labels x items log mask (0 at
    the known label, -inf elsewhere) that clamps their posteriors in the E-step."""

    items: IntArray
    log_mask: FloatArray

    @property
    def one_hot(self) -> FloatArray:
        return np.exp(self.log_mask)


def _sorted_if_possible(labels: list[Hashable]) -> list[Hashable]:
    """Sorted, as encode orders labels, when they sort; else as given."""
    try:
        return sorted(labels)  # type: ignore[type-var]
    except TypeError:
        return labels


def _encode_known(
    frame: pd.DataFrame, known: Mapping[Hashable, Hashable] | None
) -> tuple[CodedRatings, _Known | None]:
    """Code ``frame``; with ``known``, its labels join the label index (a known label
    no annotator used is still a class) and its items are coded."""
    coded = encode(frame)
    if not known:
        return coded, None
    answers = pd.Index(list(known.values()), dtype=object)
    if answers.isna().any():
        raise ValueError("known labels must not be missing")
    item_codes = coded.items.get_indexer(pd.Index(list(known.keys()), dtype=object))
    if (item_codes < 0).any():
        absent = sorted(str(item) for item, code in zip(known, item_codes, strict=True) if code < 0)
        raise ValueError(f"known lists items that have no votes: {absent[:10]}")
    extra = [label for label in answers.unique() if label not in coded.labels]
    if extra:
        coded = encode(frame, order=_sorted_if_possible([*coded.labels, *extra]))
    label_codes = coded.labels.get_indexer(answers)
    log_mask = np.full((len(coded.labels), len(item_codes)), -np.inf)
    log_mask[label_codes, np.arange(len(item_codes))] = 0.0
    return coded, _Known(item_codes.astype(np.int64), log_mask)


def _m_step(votes: _Votes, posteriors: FloatArray, smoothing: float, one_coin: bool) -> FloatArray:
    """Confusions annotators x true x given from soft counts plus ``smoothing`` per cell.

    ``posteriors`` is labels x items (label-major: reductions over labels then run
    along contiguous memory, ~50x faster than across a 3-wide row).
    """
    n_annotators, n_labels = votes.n_annotators, votes.n_labels
    soft = np.asarray(posteriors @ votes.by_item).reshape(n_labels, n_annotators, n_labels)
    soft = np.maximum(soft.transpose(1, 0, 2) + smoothing, _LOG_FLOOR)
    if not one_coin:
        confusion: FloatArray = soft / soft.sum(axis=2, keepdims=True)
        return confusion
    accuracy = np.trace(soft, axis1=1, axis2=2) / soft.sum(axis=(1, 2))
    wrong = (1.0 - accuracy) / max(n_labels - 1, 1)
    confusion = np.repeat(wrong[:, None, None], n_labels, axis=1).repeat(n_labels, axis=2)
    diagonal = np.arange(n_labels)
    confusion[:, diagonal, diagonal] = accuracy[:, None]
    return confusion


def _e_step(
    votes: _Votes, priors: FloatArray, confusion: FloatArray, known: _Known | None = None
) -> tuple[FloatArray, float]:
    """Posteriors labels x items (prior times each vote's likelihood, in log space),
    and the log-likelihood of all votes under the current parameters.

    A ``known`` item can only be of its known label: the others get probability 0,
    so its posterior is exactly that label and its likelihood is the joint one of
    its votes with that label."""
    log_confusion = np.log(np.maximum(confusion, _LOG_FLOOR)).transpose(0, 2, 1)
    per_vote = log_confusion.reshape(votes.n_annotators * votes.n_labels, votes.n_labels)
    joint = np.asarray(votes.by_item @ per_vote).T.copy()
    joint += np.log(np.maximum(priors, _LOG_FLOOR))[:, None]
    if known is not None:
        joint[:, known.items] += known.log_mask
    shift = joint.max(axis=0)
    joint -= shift
    np.exp(joint, out=joint)
    evidence = joint.sum(axis=0)
    log_likelihood = float(shift.sum() + np.log(evidence).sum())
    joint /= evidence
    return joint, log_likelihood


def dawid_skene(
    frame: pd.DataFrame,
    max_iter: int = 100,
    tol: float = 1e-5,
    smoothing: float = 0.01,
    one_coin: bool = False,
    known: Mapping[Hashable, Hashable] | None = None,
) -> DawidSkeneResult:
    """Dawid-Skene EM: each annotator's confusion matrix and each item's posterior.

    Starts from majority-vote shares (as crowd-kit does) and alternates E and M
    steps, at most ``max_iter`` times, until the log-likelihood per annotation
    improves by less than ``tol`` (crowd-kit's rule, on its lower bound).
    ``smoothing`` is a pseudo-count added to every confusion cell so a rare label
    never gets probability 0. ``one_coin`` fits one accuracy per annotator (errors
    spread evenly), which is steadier when items have only 2-3 labels.

    ``known`` maps items to their true label (gold answers). Their posterior is
    that label from the start and in every E-step, so they anchor each
    annotator's confusion matrix; their result ``label`` is the known one (read
    their votes alone with :meth:`DawidSkeneResult.items_from_votes`). A known
    label no annotator used is a class all the same. An item of ``known`` with
    no votes in ``frame``, or a missing known label, raises ValueError: a key of
    the wrong type (``"7"`` for ``7``) would otherwise silently anchor nothing.
    With ``known``, EM runs twice, from majority shares and from confusions of
    the known items alone, and keeps the run of higher likelihood (so a little
    gold can overturn a crowd that errs the same way, yet a lone gold answer cannot
    overturn an honest crowd). Without ``known`` (or with an empty one) the fit is
    unsupervised and runs once, as before.
    """
    coded, clamp = _encode_known(frame, known)
    counts = coded.counts()
    support = counts.sum(axis=1)
    votes = _votes(coded)
    settings = _Settings(max_iter, tol, smoothing, one_coin, coded.n_annotations)
    shares = (counts / np.maximum(support, 1)[:, None]).T.copy()
    fit = _em(votes, shares, clamp, settings)
    if clamp is not None:
        # EM only climbs to the nearest optimum: from majority shares, a crowd that
        # is mostly wrong in the same way stays wrong however the gold disagrees.
        # A second start takes its first confusions from the gold answers alone;
        # the likelihood (gold included) picks between the two.
        from_gold = _em(votes, np.zeros_like(shares), clamp, settings)
        fit = max(fit, from_gold, key=lambda run: run.log_likelihood)
    return _result(coded, fit.posteriors.T.copy(), fit.confusion, counts, fit.n_iter, fit.converged)


@dataclass(frozen=True)
class _Settings:
    max_iter: int
    tol: float
    smoothing: float
    one_coin: bool
    n_annotations: int


@dataclass(frozen=True)
class _Run:
    """One EM run: posteriors labels x items, confusions, its last log-likelihood."""

    posteriors: FloatArray
    confusion: FloatArray
    log_likelihood: float
    n_iter: int
    converged: bool


def _em(votes: _Votes, posteriors: FloatArray, clamp: _Known | None, settings: _Settings) -> _Run:
    """EM from the start ``posteriors`` (labels x items; changed in place)."""
    if clamp is not None:
        posteriors[:, clamp.items] = clamp.one_hot
    smoothing, one_coin = settings.smoothing, settings.one_coin
    confusion = _m_step(votes, posteriors, smoothing, one_coin)
    n_iter, converged = 0, settings.n_annotations == 0
    previous = -np.inf
    while not converged and n_iter < settings.max_iter:
        posteriors, log_likelihood = _e_step(votes, posteriors.mean(axis=1), confusion, clamp)
        confusion = _m_step(votes, posteriors, smoothing, one_coin)
        converged = (log_likelihood - previous) / settings.n_annotations < settings.tol
        previous, n_iter = log_likelihood, n_iter + 1
    return _Run(posteriors, confusion, float(previous), n_iter, converged)


def _result(
    coded: CodedRatings,
    posteriors: FloatArray,
    confusion: FloatArray,
    counts: IntArray,
    n_iter: int,
    converged: bool,
) -> DawidSkeneResult:
    n_annotators = len(coded.annotators)
    right = np.bincount(
        coded.annotator, weights=posteriors[coded.item, coded.label], minlength=n_annotators
    )
    given = np.maximum(np.bincount(coded.annotator, minlength=n_annotators), 1)
    labels = pd.Index(coded.labels, name="label")
    items = pd.Index(coded.items, name="item")
    return DawidSkeneResult(
        items=_item_table(coded, posteriors, counts.sum(axis=1), counts),
        posteriors=pd.DataFrame(posteriors, index=items, columns=labels),
        confusion_array=confusion,
        annotator_accuracy=pd.Series(right / given, index=coded.annotators, name="accuracy"),
        priors=pd.Series(posteriors.sum(axis=0) / max(len(items), 1), index=labels),
        n_iter=n_iter,
        converged=converged,
    )
