"""One answer from several annotators' spans: span voting and token Dawid–Skene.

- Span voting: a span (start, end, label) is in the consensus when at least ``share``
  of the item's annotators marked exactly it, and more marked it than did not (a tie
  settles nothing). An item is disputed when any span some
  annotator marked lacks the share. Where overlaps are not allowed, of two overlapping
  winners the one more annotators marked stays (then the longer, then the earlier).
- Token Dawid–Skene: every token of every item is a unit whose class is its IOB2 tag;
  each annotator gets a confusion matrix over tags (their reliability per label), so a
  careful annotator outweighs a careless one. Tags are then repaired to valid spans
  (an ``I-X`` that continues nothing starts an ``X``). Token posteriors: 0..1.
- Near-miss groups: spans of any annotator that overlap, chained together, so a
  reviewer sees "PER 0..5 ×2, PER 0..9 ×1" side by side.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from labeler.core.span_agreement import Counts, distinct_spans
from labeler.core.span_frames import TokenTable, explode, units_to_spans
from labeler.core.span_text import Span, as_tuples

Triple = tuple[int, int, str]


def _drop_overlaps(winners: list[tuple[Triple, int]]) -> list[Triple]:
    kept: list[Triple] = []
    for span, _ in sorted(winners, key=lambda w: (-w[1], w[0][0] - w[0][1], w[0])):
        if all(span[1] <= k[0] or k[1] <= span[0] for k in kept):
            kept.append(span)
    return sorted(kept)


def vote(
    values: Sequence[Sequence[Span]], share: float, overlap: bool = False, ties_in: bool = False
) -> tuple[list[Span], float, bool]:
    """``(consensus spans, confidence, disputed)`` of one item's annotations.
    ``ties_in``: a span half the annotators marked is in (the leave-one-out reference
    of two others, where a tie is common and skipping it would leave little to score).

    ``confidence`` (0..1) is the weakest decision's margin: for each span anyone marked,
    the share of annotators on the winning side (in or out); 1 when all agree.
    """
    if not values:
        return [], 0.0, False
    counts = Counter(span for value in values for span in as_tuples(value))
    n = len(values)
    # A tie between "marked" and "not marked" settles nothing (as a tie of labels).
    winners = [
        (span, c) for span, c in counts.items() if c / n >= share - 1e-12 and (ties_in or 2 * c > n)
    ]
    chosen = sorted(s for s, _ in winners) if overlap else _drop_overlaps(winners)
    confidence = min((max(c, n - c) / n for c in counts.values()), default=1.0)
    disputed = len(chosen) < len(counts)
    spans: list[Span] = [{"start": s, "end": e, "label": lab} for s, e, lab in chosen]
    return spans, confidence, disputed


def vote_many(
    votes: pd.DataFrame, share: float, overlap: bool = False, spans: pd.DataFrame | None = None
) -> pd.DataFrame:
    """:func:`vote` for every item of a votes frame at once, by item: ``value``,
    ``confidence``, ``disputed`` and ``unanimous`` (every answer the same).
    ``spans``: :func:`explode` of ``votes`` when the caller has it already."""
    n_votes = votes.groupby("item", sort=True).size()
    spans = explode(votes) if spans is None else spans
    item_code = n_votes.index.get_indexer(spans["item"])
    row, c = distinct_spans(spans, item_code)
    item = item_code[row]
    n = n_votes.to_numpy()[item]
    won = (c / n >= share - 1e-12) & (2 * c > n)
    margin = np.maximum(c, n - c) / n
    confidence = np.ones(len(n_votes))
    lost = np.zeros(len(n_votes), dtype=bool)
    split = np.zeros(len(n_votes), dtype=bool)
    if len(row):
        bounds = np.flatnonzero(np.concatenate([[True], item[1:] != item[:-1]]))
        confidence[item[bounds]] = np.minimum.reduceat(margin, bounds)
        lost[item[~won]] = True
        split[item[c != n]] = True
    table = pd.DataFrame(index=n_votes.index)
    table["confidence"] = confidence
    table["disputed"] = lost
    table["unanimous"] = ~split
    kept = row[won]
    names = [str(name) for name in spans["label"].cat.categories]
    index = n_votes.index.tolist()
    values: list[list[Span]] = [[] for _ in index]
    for at, start, end, code in zip(
        item[won].tolist(),
        spans["start"].to_numpy()[kept].tolist(),
        spans["end"].to_numpy()[kept].tolist(),
        spans["label"].cat.codes.to_numpy()[kept].tolist(),
        strict=True,
    ):
        values[at].append({"start": start, "end": end, "label": names[code]})
    if not overlap:
        winner_item, winner_start = item[won], spans["start"].to_numpy()[kept]
        winner_end = spans["end"].to_numpy()[kept]
        crowded = np.flatnonzero(
            (winner_item[1:] == winner_item[:-1]) & (winner_start[1:] < winner_end[:-1])
        )
        for at in np.unique(winner_item[crowded + 1]).tolist():
            marks = votes.loc[votes["item"] == index[at], "value"].tolist()
            values[at], table.iloc[at, 0], _ = vote(marks, share)
    table["value"] = values
    return table


def near_miss_groups(values: Sequence[Sequence[Span]]) -> list[dict[str, Any]]:
    """Chains of overlapping spans over one item's annotations, in text order: each
    ``{"start", "end", "spans": [{"start", "end", "label", "count"}]}``."""
    counts = Counter(span for value in values for span in as_tuples(value))
    groups: list[dict[str, Any]] = []
    for (start, end, label), count in sorted(counts.items()):
        entry = {"start": start, "end": end, "label": label, "count": count}
        if groups and start < groups[-1]["end"]:
            groups[-1]["end"] = max(groups[-1]["end"], end)
            groups[-1]["spans"].append(entry)
        else:
            groups.append({"start": start, "end": end, "spans": [entry]})
    return groups


def _pattern_keys(table: TokenTable, n_units: int, n_tags: int) -> np.ndarray:
    """One 64-bit key per unit that is the same exactly when two units got the same
    tags from the same annotators (a sum of random codes; collisions ~ n²/2⁶⁴)."""
    codes = np.random.default_rng(0).integers(
        1, 2**63, size=(len(table.annotators), n_tags), dtype=np.uint64
    )
    # Every vote of an item tags each of its tokens: a unit's key is its item's sum of
    # the "O" codes of its votes, plus (code of the tag - code of O) where a tag is not
    # O (a tenth of the rows). All sums wrap modulo 2⁶⁴, so any order gives one key.
    first_unit = np.zeros(n_units, dtype=bool)
    first_unit[table.base[table.n_tokens > 0]] = True
    opening = np.flatnonzero(first_unit[table.units])
    item_of_unit = np.repeat(np.arange(len(table.items)), table.n_tokens)
    item_sum = np.zeros(len(table.items), dtype=np.uint64)
    np.add.at(item_sum, item_of_unit[table.units[opening]], codes[table.coders[opening], 0])
    keys = np.repeat(item_sum, table.n_tokens)
    tagged = np.flatnonzero(table.tags)
    coders = table.coders[tagged]
    np.add.at(keys, table.units[tagged], codes[coders, table.tags[tagged]] - codes[coders, 0])
    return keys


def dawid_skene_tags(
    table: TokenTable, iterations: int = 30, tolerance: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    """``(tag code, posterior)`` per unit by Dawid–Skene over the token tags.

    Units with the same votes share a posterior, so EM runs once per distinct vote
    pattern (most tokens are "O" from everyone), which keeps 10⁶ tokens fast.
    """
    n_units = int(table.units.max()) + 1 if table.units.size else 0
    if n_units == 0:  # no text has a token: nothing to tag
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    n_tags, n_coders = len(table.tag_names), len(table.annotators)
    keys = _pattern_keys(table, n_units, n_tags)
    _, first_unit, pattern_of_unit, weight = np.unique(
        keys, return_index=True, return_inverse=True, return_counts=True
    )
    is_first = np.zeros(n_units, dtype=bool)
    is_first[first_unit] = True
    mine = is_first[table.units]
    vote_pattern = pattern_of_unit[table.units[mine]]
    vote_coder, vote_tag = table.coders[mine], table.tags[mine]
    n_patterns = len(weight)
    posterior = np.full((n_patterns, n_tags), 1e-6)
    np.add.at(posterior, (vote_pattern, vote_tag), 1.0)  # start from the vote shares
    posterior /= posterior.sum(axis=1, keepdims=True)
    for _ in range(iterations):
        weighted = posterior * weight[:, None]
        prior = weighted.sum(axis=0) + 1e-6
        prior /= prior.sum()
        observed = np.full((n_coders * n_tags, n_tags), 0.01)  # (coder, given) x true
        np.add.at(observed, vote_coder * n_tags + vote_tag, weighted[vote_pattern])
        confusion = observed.reshape(n_coders, n_tags, n_tags).transpose(0, 2, 1).copy()
        confusion /= confusion.sum(axis=2, keepdims=True)
        log_post = np.tile(np.log(prior), (n_patterns, 1))
        np.add.at(log_post, vote_pattern, np.log(confusion[vote_coder, :, vote_tag]))
        log_post -= log_post.max(axis=1, keepdims=True)
        updated = np.exp(log_post)
        updated /= updated.sum(axis=1, keepdims=True)
        change = float(np.abs(updated - posterior).max())
        posterior = updated
        if change < tolerance:
            break
    best = posterior.argmax(axis=1)
    return best[pattern_of_unit], posterior.max(axis=1)[pattern_of_unit]


def dawid_skene(table: TokenTable) -> dict[Any, tuple[list[Span], float]]:
    """Per item: ``(consensus spans, the least token posterior)`` by token Dawid–Skene."""
    best, confidence = dawid_skene_tags(table)
    spans = units_to_spans(table, best)
    least = np.ones(len(table.items))
    has_tokens = table.n_tokens > 0
    least[has_tokens] = np.minimum.reduceat(confidence, table.base[has_tokens])
    return {item: (spans[item], float(low)) for item, low in zip(table.items, least, strict=True)}


def leave_one_out_f1(votes: pd.DataFrame, share: float) -> dict[str, Any]:
    """Each annotator's strict span F1 against the vote of the *other* annotators of
    the items they share (items with fewer than 2 others are skipped, as one other is
    a pair, not a consensus). ``overall`` (0..1) weights annotators by items scored;
    None when nothing could be scored. A model near ``overall`` is as good as people."""
    by_item: dict[Any, list[tuple[Any, list[Span]]]] = {}
    for item, annotator, value in zip(
        votes["item"], votes["annotator"], votes["value"], strict=True
    ):
        by_item.setdefault(item, []).append((annotator, list(value or [])))
    counts: dict[Any, Counts] = {}
    scored: Counter[Any] = Counter()
    for marks in by_item.values():
        if len(marks) < 3:
            continue
        for i, (annotator, own) in enumerate(marks):
            others = [value for j, (_, value) in enumerate(marks) if j != i]
            reference, _, _ = vote(others, share, ties_in=True)
            counts.setdefault(annotator, Counts()).add(as_tuples(reference), as_tuples(own), True)
            scored[annotator] += 1
    per_annotator = [
        {"annotator": a, "n_items": scored[a], "span_f1": counts[a].f1() if scored[a] else None}
        for a in sorted(counts, key=str)
    ]
    total = sum(scored.values())
    weighted = sum((row["span_f1"] or 0.0) * row["n_items"] for row in per_annotator)
    return {
        "overall": weighted / total if total else None,
        "n_annotations_scored": total,
        "n_items": len(by_item),
        "per_annotator": per_annotator,
    }
