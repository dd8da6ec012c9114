"""Span records in and out: JSONL with tokens and spans, CoNLL-style BIO, and back.

Offsets are Unicode code points (``text[start:end]`` in Python), never bytes or UTF-16
units. The JSONL record is what spaCy's and Prodigy's span readers take::

    {"text": "...", "tokens": [{"text", "start", "end", "id"}],
     "spans": [{"start", "end", "label", "token_start", "token_end"}]}

(``token_end`` is the index of the span's last token, inclusive, as those tools count.)
CoNLL is one ``token<TAB>tag`` line per token and a blank line after each text (``# ``
lines before a text are comments: its id, which annotator each tag column is); it
holds no whitespace, so reading it back needs the text (:func:`spans_from_bio`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from typing import Any

from labeler.core.span_text import Span, SpanError, bio_tags, check_spans, tokenize

_SPAN_KEYS = {"start", "end", "label"}


@lru_cache(maxsize=4096)
def _label_json(label: str) -> str:
    return json.dumps(label, ensure_ascii=False)


def spans_json(value: Any) -> str:
    """The compact key-sorted JSON of a span list, as ``json.dumps(value,
    sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` writes it, built from
    format strings for plain spans (4x faster on 10⁵ values); anything else goes to
    ``json.dumps`` itself."""
    if not isinstance(value, list):
        return _dumps(value)
    parts = []
    for span in value:
        if not (
            type(span) is dict
            and span.keys() == _SPAN_KEYS
            and type(start := span["start"]) is int
            and type(end := span["end"]) is int
            and type(label := span["label"]) is str
        ):
            return _dumps(value)
        parts.append(f'{{"end":{end},"label":{_label_json(label)},"start":{start}}}')
    return "[" + ",".join(parts) + "]"


def spans_json_many(values: Sequence[Any]) -> list[str]:
    """:func:`spans_json` of each value, formatting all their spans in one pass (what
    a consensus table of 10⁵ items needs); values that are not plain span lists make
    it fall back to one value at a time."""
    if not all(type(value) is list for value in values):
        return [spans_json(value) for value in values]
    flat = list(chain.from_iterable(values))
    try:
        starts, ends, labels = (list(map(get, flat)) for get in _GETTERS)
    except (KeyError, TypeError):
        return [spans_json(value) for value in values]
    if not (
        all(type(span) is dict and len(span) == 3 for span in flat)
        and set(map(type, starts)) | set(map(type, ends)) <= {int}
        and set(map(type, labels)) <= {str}
    ):
        return [spans_json(value) for value in values]
    quoted = {label: _label_json(label) for label in set(labels)}
    parts = [
        f'{{"end":{e},"label":{quoted[lab]},"start":{s}}}'
        for s, e, lab in zip(starts, ends, labels, strict=True)
    ]
    out, at = [], 0
    for n in map(len, values):
        out.append("[" + ",".join(parts[at : at + n]) + "]")
        at += n
    return out


_GETTERS = (itemgetter("start"), itemgetter("end"), itemgetter("label"))


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def jsonl_record(text: str, spans: Sequence[Span], tokenizer: str = "words") -> dict[str, Any]:
    """The JSONL record of one text and its spans."""
    tokens = tokenize(text, tokenizer)
    index = {start: i for i, (start, _) in enumerate(tokens)}
    last = {end: i for i, (_, end) in enumerate(tokens)}
    return {
        "text": text,
        "tokens": [
            {"text": text[s:e], "start": s, "end": e, "id": i} for i, (s, e) in enumerate(tokens)
        ],
        "spans": [
            {
                "start": span["start"],
                "end": span["end"],
                "label": span["label"],
                "token_start": index.get(span["start"]),
                "token_end": last.get(span["end"]),
            }
            for span in spans
        ],
    }


def read_jsonl_record(
    record: Mapping[str, Any],
    labels: Sequence[str],
    tokenizer: str = "words",
    overlap: bool = False,
) -> tuple[str, list[Span]]:
    """``(text, spans)`` of a JSONL record, checked as an answer is.

    Raises:
        SpanError: naming the field (``text``, ``spans[1].label``...).
    """
    text = record.get("text")
    if not isinstance(text, str):
        raise SpanError("a record needs its text (a string)", "text")
    raw = [
        {k: span.get(k) for k in ("start", "end", "label")} if isinstance(span, dict) else span
        for span in record.get("spans") or []
    ]
    return text, check_spans(raw, labels, text=text, tokenizer=tokenizer, overlap=overlap)


def conll_lines(text: str, spans: Sequence[Span], tokenizer: str = "words") -> Iterator[str]:
    """One ``token<TAB>tag`` line per token, then an empty line."""
    tokens = tokenize(text, tokenizer)
    for (start, end), tag in zip(tokens, bio_tags(spans, tokens), strict=True):
        yield f"{text[start:end]}\t{tag}"
    yield ""


def read_conll_blocks(lines: Iterable[str]) -> Iterator[list[tuple[str, str]]]:
    """The ``(token, tag)`` pairs of each text of CoNLL lines (the tag is the last column)."""
    block: list[tuple[str, str]] = []
    for line in lines:
        if line.startswith("# ") and "\t" not in line:
            continue  # a comment (conll_block writes the item's id so)
        parts = line.rstrip("\r\n").split("\t") if "\t" in line else line.split()
        if not parts or not parts[0]:
            if block:
                yield block
            block = []
            continue
        block.append((parts[0], parts[-1]))
    if block:
        yield block


def spans_from_bio(
    text: str, block: Sequence[tuple[str, str]], labels: Sequence[str], tokenizer: str = "words"
) -> list[Span]:
    """The spans of a text's BIO tags; the tokens must be the text's own.

    Raises:
        SpanError: (``tags``) when the tokens differ from the text's, or a tag is not
            ``O`` / ``B-X`` / ``I-X`` with X in the label set.
    """
    tokens = tokenize(text, tokenizer)
    if [text[s:e] for s, e in tokens] != [token for token, _ in block]:
        raise SpanError(
            f"the tags' {len(block)} tokens are not this text's {len(tokens)} tokens", "tags"
        )
    spans: list[Span] = []
    current: str | None = None
    for line, ((start, end), (_, tag)) in enumerate(zip(tokens, block, strict=True), 1):
        prefix, _, label = tag.partition("-")
        if tag == "O":
            current = None
            continue
        if prefix not in ("B", "I") or label not in labels:
            raise SpanError(f"token {line}: tag {tag!r} is not O, B-X or I-X of the labels", "tags")
        if prefix == "I" and current == label:
            spans[-1]["end"] = end
        else:
            spans.append({"start": start, "end": end, "label": label})
            current = label
    return check_spans(spans, labels, text=text, tokenizer=tokenizer)


def spans_from_tag_list(
    text: str,
    tags: Sequence[object],
    labels: Sequence[str],
    tokenizer: str = "words",
    overlap: bool = False,
) -> list[Span]:
    """The spans of one IOB2 tag per token of ``text`` (``["O", "B-PER", "I-PER"]``), as
    an import gives them: checked strictly (a count that is not the text's token count,
    or a tag outside ``O`` / ``B-X`` / ``I-X`` of the labels, is refused); an ``I-X`` that
    does not continue an ``X`` starts one.

    Raises:
        SpanError: naming ``tags`` or ``tags[i]``.
    """
    tokens = tokenize(text, tokenizer)
    if len(tags) != len(tokens):
        raise SpanError(
            f"{len(tags)} tags for the text's {len(tokens)} tokens (one tag per token)", "tags"
        )
    spans: list[Span] = []
    current: str | None = None
    for i, (tag, (start, end)) in enumerate(zip(tags, tokens, strict=True)):
        if tag == "O":
            current = None
            continue
        prefix, _, label = tag.partition("-") if isinstance(tag, str) else ("", "", "")
        if prefix not in ("B", "I") or label not in labels:
            raise SpanError(f"tags[{i}] {tag!r} is not O, B-X or I-X with X a label", f"tags[{i}]")
        if prefix == "I" and current == label:
            spans[-1]["end"] = end
        else:
            spans.append({"start": start, "end": end, "label": label})
            current = label
    return check_spans(spans, labels, text=text, tokenizer=tokenizer, overlap=overlap)


def conll_block(
    text: str,
    columns: Sequence[Sequence[Span]],
    tokenizer: str = "words",
    comments: Sequence[str] = (),
) -> str:
    """One text as CoNLL: ``# `` comment lines, then ``token<TAB>tag<TAB>tag...`` per
    token (one tag column per span set in ``columns``), then a blank line."""
    tokens = tokenize(text, tokenizer)
    tagged = [bio_tags(spans, tokens) for spans in columns]
    lines = [f"# {comment}" for comment in comments]
    for n, (start, end) in enumerate(tokens):
        lines.append("\t".join([text[start:end], *(tags[n] for tags in tagged)]))
    return "\n".join(lines) + "\n\n"
