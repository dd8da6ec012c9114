"""Spans of many votes as numpy arrays, so 10⁵ items stay in the seconds.

A votes frame (``item``, ``annotator``, ``value``, optionally ``text``) becomes one row
per marked span (:func:`explode`), and with the texts one row per (token, vote) in
IOB2 codes (:func:`token_table`); the reverse turns per-token tags into spans
(:func:`units_to_spans`). Loops left in Python touch each text or span once.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from labeler.core.span_text import Span, tokenize_many


def explode(votes: pd.DataFrame) -> pd.DataFrame:
    """One row per span: ``vote`` (the row's position), ``item``, ``annotator``,
    ``start``, ``end``, ``label`` (annotator and label categorical), in the votes'
    order and each value's."""
    values = [value or () for value in votes["value"].tolist()]
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    flat = list(chain.from_iterable(values))
    positions = np.repeat(np.arange(len(values), dtype=np.int64), lengths)
    codes, names = pd.factorize(np.asarray(list(map(_LABEL, flat)), dtype=object), sort=True)
    coder, coders = pd.factorize(votes["annotator"])
    return pd.DataFrame(
        {
            "vote": positions,
            "item": votes["item"].to_numpy()[positions],
            "annotator": pd.Categorical.from_codes(coder[positions], categories=coders),
            "start": np.fromiter(map(_START, flat), dtype=np.int64, count=len(flat)),
            "end": np.fromiter(map(_END, flat), dtype=np.int64, count=len(flat)),
            "label": pd.Categorical.from_codes(codes, categories=pd.Index(names, dtype=object)),
        }
    )


_START, _END, _LABEL = itemgetter("start"), itemgetter("end"), itemgetter("label")


@dataclass
class TokenTable:
    """Every vote's IOB2 tags, long: one row per (token of an item, vote).

    Tokens of all items are numbered in turn (``units``); item ``i`` holds tokens
    ``base[i]`` .. ``base[i] + n_tokens[i]``, whose code-point offsets within the item's
    text are ``token_start`` / ``token_end``. ``coders`` and ``tags`` are codes into
    ``annotators`` and ``tag_names`` (``"O"`` is 0, ``B-X`` odd, ``I-X`` even).
    ``ranks``: each row's vote's place among its item's votes (0, 1, ...), so that
    ``(units, ranks)`` is a cell of a units x votes-per-item matrix."""

    items: list[Any]
    base: np.ndarray
    n_tokens: np.ndarray
    token_start: np.ndarray
    token_end: np.ndarray
    units: np.ndarray
    coders: np.ndarray
    tags: np.ndarray
    annotators: list[Any]
    tag_names: list[str]
    ranks: np.ndarray


def token_table(
    votes: pd.DataFrame, tokenizer: str = "words", spans: pd.DataFrame | None = None
) -> TokenTable:
    """The :class:`TokenTable` of ``votes`` (needs a ``text`` column); ``spans`` is
    :func:`explode` of ``votes`` when the caller has it already."""
    texts = votes.groupby("item", sort=False)["text"].first()
    items = texts.index.tolist()
    owner, token_start, token_end = tokenize_many([str(t) for t in texts.tolist()], tokenizer)
    n_tokens = np.bincount(owner, minlength=len(items)).astype(np.int64)
    base = np.concatenate([[0], np.cumsum(n_tokens)[:-1]]).astype(np.int64)
    item_code = pd.Index(items).get_indexer(votes["item"])
    coder_codes, annotators = pd.factorize(votes["annotator"])
    rank = pd.Series(item_code).groupby(item_code).cumcount().to_numpy()
    lengths = n_tokens[item_code]
    vote_base = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    total = int(lengths.sum())
    # each vote's run of rows counts its item's tokens from the item's base
    units = np.repeat(base[item_code] - vote_base, lengths)
    units += np.arange(total, dtype=np.int64)
    coders = np.repeat(coder_codes.astype(np.int32), lengths)
    spans = explode(votes) if spans is None else spans
    labels = list(spans["label"].cat.categories)
    tags = np.zeros(total, dtype=np.int16 if len(labels) < 16_000 else np.int32)
    if len(spans):
        _mark(spans, tags, item_code, n_tokens, token_start, vote_base)
    names = ["O"] + [f"{p}-{label}" for label in labels for p in ("B", "I")]
    return TokenTable(
        items, base, n_tokens, token_start, token_end, units, coders, tags,
        list(annotators), names, np.repeat(rank.astype(np.int32), lengths),
    )  # fmt: skip


def _mark(
    spans: pd.DataFrame,
    tags: np.ndarray,
    item_code: np.ndarray,
    n_tokens: np.ndarray,
    token_start: np.ndarray,
    vote_base: np.ndarray,
) -> None:
    """Write each span's B and I codes into ``tags`` (where spans overlap, the earlier
    span in (start, end) order keeps the token, as :func:`span_text.bio_tags` does)."""
    ordered = spans.sort_values(["vote", "start", "end"], ascending=False)
    vote = ordered["vote"].to_numpy()
    item = item_code[vote]
    # one sorted key over all items' tokens: (item, start within the item's text)
    token_item = np.repeat(np.arange(len(n_tokens), dtype=np.int64), n_tokens)
    keys = (token_item << 32) + token_start
    item_first = np.searchsorted(keys, item << 32)
    first = np.searchsorted(keys, (item << 32) + ordered["start"].to_numpy()) - item_first
    last = np.searchsorted(keys, (item << 32) + ordered["end"].to_numpy()) - item_first
    code = ordered["label"].cat.codes.to_numpy().astype(np.int64)
    inside = last - first
    keep = inside > 0
    into, first, inside, code = vote_base[vote][keep], first[keep], inside[keep], code[keep]
    run_start = np.repeat(into + first, inside)
    step = np.arange(int(inside.sum())) - np.repeat(np.cumsum(inside) - inside, inside)
    label = np.repeat(code, inside)
    tags[run_start + step] = np.where(step == 0, 1 + 2 * label, 2 + 2 * label)


def units_to_spans(table: TokenTable, best: np.ndarray) -> dict[Any, list[Span]]:
    """Per item, the spans of one IOB2 code per unit, repaired: an ``I-X`` that does not
    continue an ``X`` starts one."""
    label_of = (best + 1) // 2 - 1  # -1 for O, else the label's index
    item_of_unit = np.repeat(np.arange(len(table.items)), table.n_tokens)
    previous_label = np.concatenate([[-1], label_of[:-1]])
    new_item = np.zeros(len(best), dtype=bool)
    new_item[table.base[table.n_tokens > 0]] = True
    continues = (best % 2 == 0) & (best > 0) & (previous_label == label_of) & ~new_item
    starts = np.flatnonzero((best > 0) & ~continues)
    inside = (best > 0) & continues
    # a span ends at the last unit before the next unit that does not continue it
    ends_at = np.flatnonzero((best > 0) & ~np.concatenate([inside[1:], [False]]))
    result: dict[Any, list[Span]] = {item: [] for item in table.items}
    labels = [name[2:] for name in table.tag_names]
    items = table.items
    for item, start, end, code in zip(
        item_of_unit[starts].tolist(),
        table.token_start[starts].tolist(),
        table.token_end[ends_at].tolist(),
        best[starts].tolist(),
        strict=True,
    ):
        result[items[item]].append({"start": start, "end": end, "label": labels[code]})
    return result
