"""Reading CoNLL back (labeler.core.span_conll): documents, columns, ids, DOCSTART, and
the export's blocks round-tripping exactly on hostile random texts."""

from __future__ import annotations

import numpy as np
import pytest

from labeler.core.span_conll import ConllError, conll_spans, joined_text, read_conll
from labeler.core.span_formats import conll_block
from tests.core.test_span_fast_paths import _text, _value

LABELS = ("PER", "LOC", 'Q"\u540d', "B-X")


def test_export_blocks_read_back_into_the_same_spans_on_hostile_texts():
    rng = np.random.default_rng(3)
    written, expected = [], []
    for n in range(200):
        text = _text(rng)
        columns = [_value(rng, text, overlap=False) or [] for _ in range(3)]
        names = ["final", "alice", "bob"]
        written.append(
            conll_block(text, columns, comments=[f"id = t{n}", "columns = " + " ".join(names)])
        )
        expected.append((f"t{n}", text, columns))
    lines = "".join(written).replace("\n", "\r\n").splitlines(keepends=True)
    documents = {doc.id: doc for doc in read_conll(lines)}
    for external_id, text, columns in expected:
        doc = documents.get(external_id)
        if not columns[0] and doc is None:
            continue
        if doc is None:  # a text without tokens writes no token line
            assert not text.split()
            continue
        assert doc.columns == ["final", "alice", "bob"]
        for i, spans in enumerate(columns):
            assert conll_spans(text, doc, i, LABELS) == spans


def test_documents_end_at_blank_lines_and_docstart_and_keep_the_columns():
    lines = [
        "\ufeff-DOCSTART- -X- -X- O",
        "",
        "# columns = alice bob",
        "# id = a",
        "EU\tB-LOC\tO",
        "rejects\tO\tO",
        "",
        "# a comment",
        "Peter\tB-PER\tB-PER",
        "-DOCSTART-",
        "# id = c",
        "x\tO\tO",
    ]
    docs = list(read_conll(lines))
    assert [(d.id, d.columns, d.tokens, d.lines) for d in docs] == [
        ("a", ["alice", "bob"], ["EU", "rejects"], [5, 6]),
        (None, ["alice", "bob"], ["Peter"], [9]),
        ("c", ["alice", "bob"], ["x"], [12]),
    ]
    assert docs[0].column(0) == ["B-LOC", "O"]


def test_plain_conll_takes_the_last_column_and_joins_the_tokens():
    docs = list(read_conll(["EU NNP B-NP B-LOC", "rejects VBZ B-VP O", "German JJ B-NP B-B-X"]))
    assert docs[0].tags == [["B-LOC"], ["O"], ["B-B-X"]]
    text, offsets = joined_text(docs[0])
    assert text == "EU rejects German"
    spans = conll_spans(text, docs[0], 0, LABELS, offsets=offsets)
    assert spans == [
        {"start": 0, "end": 2, "label": "LOC"},
        {"start": 11, "end": 17, "label": "B-X"},
    ]


@pytest.mark.parametrize(
    ("lines", "line", "said"),
    [
        (["a\tO", "b"], 2, "needs the token, then its tag"),
        (["# columns = x y", "a\tO"], 2, "1 tags, but the columns line names 2"),
        (["# columns =", "a\tO"], 1, "names no tag column"),
    ],
)
def test_a_bad_line_is_named(lines, line, said):
    with pytest.raises(ConllError) as caught:
        list(read_conll(lines))
    assert caught.value.line == line and said in str(caught.value)


def test_tags_and_tokens_are_checked_against_the_text():
    (doc,) = read_conll(["Hi\tO", "Bo\tB-NOPE"])
    with pytest.raises(ConllError, match="line 2: tag 'B-NOPE' is not O, B-X or I-X"):
        conll_spans("Hi Bo", doc, 0, LABELS)
    with pytest.raises(ConllError, match="line 2: token 'Bo' is not the item's text here"):
        conll_spans("Hi Ba", doc, 0, LABELS)
    with pytest.raises(ConllError, match="line 2: the item's text has 1 tokens"):
        conll_spans("Hi", doc, 0, LABELS)
