"""Span exports read back exactly, with hostile text (labeler.core.span_formats)."""

from __future__ import annotations

import json

import pytest

from labeler.core.span_formats import (
    conll_lines,
    jsonl_record,
    read_conll_blocks,
    read_jsonl_record,
    spans_from_bio,
)
from labeler.core.span_text import SpanError, check_spans

LABELS = ["PER", "LOC", "EMOJI"]
# emoji outside the BMP with a modifier, a ZWJ family, combining marks, CRLF, Hebrew and
# Arabic with right-to-left marks
TEXTS = [
    "Zoe\u0301 met Ren\u00e9e in Tel Aviv \U0001f44d\U0001f3fd\r\n"
    "then \u05ea\u05dc \u05d0\u05d1\u05d9\u05d1\u200f!",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467 family in "
    "\u0627\u0644\u0642\u0627\u0647\u0631\u0629\u200f ok",
    "nothing to mark here",
]


def _spans(text: str) -> list:
    found = []
    for needle, label in [
        ("Zoe\u0301", "PER"), ("Ren\u00e9e", "PER"), ("Tel Aviv", "LOC"),
        ("\U0001f44d\U0001f3fd", "EMOJI"), ("\u05ea\u05dc \u05d0\u05d1\u05d9\u05d1", "LOC"),
        ("\U0001f468\u200d\U0001f469\u200d\U0001f467", "EMOJI"),
        ("\u0627\u0644\u0642\u0627\u0647\u0631\u0629", "LOC"),
    ]:  # fmt: skip
        if needle in text:
            start = text.index(needle)
            found.append({"start": start, "end": start + len(needle), "label": label})
    return check_spans(found, LABELS, text=text)


@pytest.mark.parametrize("text", TEXTS)
def test_jsonl_round_trips_exactly_through_json_text(text):
    spans = _spans(text)
    line = json.dumps(jsonl_record(text, spans), ensure_ascii=False)
    record = json.loads(line)
    assert read_jsonl_record(record, LABELS) == (text, spans)
    for span in record["spans"]:
        tokens = record["tokens"][span["token_start"] : span["token_end"] + 1]
        assert tokens[0]["start"] == span["start"] and tokens[-1]["end"] == span["end"]
    assert all(text[t["start"] : t["end"]] == t["text"] for t in record["tokens"])


def test_offsets_are_code_points():
    record = jsonl_record(TEXTS[0], _spans(TEXTS[0]))
    emoji = next(s for s in record["spans"] if s["label"] == "EMOJI")
    assert TEXTS[0][emoji["start"] : emoji["end"]] == "\U0001f44d\U0001f3fd"
    assert emoji["end"] - emoji["start"] == 2  # two code points (four UTF-16 units)


def test_conll_round_trips_exactly_given_the_texts():
    lines = [line for text in TEXTS for line in conll_lines(text, _spans(text))]
    written = "\n".join(lines) + "\n"
    blocks = list(read_conll_blocks(written.splitlines()))
    assert len(blocks) == len(TEXTS)
    for text, block in zip(TEXTS, blocks, strict=True):
        assert spans_from_bio(text, block, LABELS) == _spans(text)
    assert ("Tel", "B-LOC") in blocks[0] and ("Aviv", "I-LOC") in blocks[0]


def test_bad_records_are_refused_naming_the_field():
    with pytest.raises(SpanError) as error:
        read_jsonl_record({"spans": []}, LABELS)
    assert error.value.field == "text"
    with pytest.raises(SpanError) as error:
        read_jsonl_record({"text": "a b", "spans": [{"start": 0, "end": 1, "label": "X"}]}, LABELS)
    assert error.value.field == "spans[0].label"
    with pytest.raises(SpanError, match="not this text's") as error:
        spans_from_bio("a b c", [("a", "O"), ("b", "O")], LABELS)
    assert error.value.field == "tags"
    with pytest.raises(SpanError, match="token 2"):
        spans_from_bio("a b", [("a", "O"), ("b", "B-ORG")], LABELS)
