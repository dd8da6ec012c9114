"""Spans over text: the tokenizer, snapping, checking and IOB2 tags (labeler.core.span_text)."""

from __future__ import annotations

import pytest

from labeler.core.kinds import InvalidValue, KindContext, kind_for
from labeler.core.span_text import (
    SpanError,
    bio_tags,
    check_spans,
    spans_from_tags,
    tokenize,
)

LABELS = ["PER", "PHONE"]
# Hostile text: a combining accent, an emoji with a skin-tone modifier, CRLF, Hebrew
# with a right-to-left mark.
HOSTILE = (
    "Call Zoe\u0301 at 08452810075 \U0001f44d\U0001f3fd now!\r\n\u05e9\u05dc\u05d5\u05dd\u200f ok"
)


def test_tokens_are_code_point_offsets_that_keep_marks_and_emoji_whole():
    words = [HOSTILE[s:e] for s, e in tokenize(HOSTILE)]
    assert words[:5] == ["Call", "Zoe\u0301", "at", "08452810075", "\U0001f44d\U0001f3fd"]
    assert "\u05e9\u05dc\u05d5\u05dd" in words and "\r" not in "".join(words)
    assert ["ab c"[s:e] for s, e in tokenize("ab c", "characters")] == ["a", "b", "c"]


def test_a_span_snaps_to_the_tokens_it_touches():
    # 6..7 is inside "Zoé" (5..9); 14..20 is inside the phone number (13..24)
    spans = check_spans(
        [{"start": 14, "end": 20, "label": "PHONE"}, {"start": 6, "end": 7, "label": "PER"}],
        LABELS,
        text=HOSTILE,
    )
    assert spans == [
        {"start": 5, "end": 9, "label": "PER"},
        {"start": 13, "end": 24, "label": "PHONE"},
    ]
    assert HOSTILE[5:9] == "Zoe\u0301" and HOSTILE[13:24] == "08452810075"


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"start": 0, "end": 4}, "spans", "must be a list"),
        (["PER"], "spans[0]", "must be an object"),
        ([{"start": "0", "end": 4, "label": "PER"}], "spans[0].start", "integer"),
        ([{"start": True, "end": 4, "label": "PER"}], "spans[0].start", "integer"),
        ([{"start": 4, "end": 4, "label": "PER"}], "spans[0]", "start < end"),
        ([{"start": -1, "end": 4, "label": "PER"}], "spans[0]", "start < end"),
        ([{"start": 0, "end": 4, "label": "ORG"}], "spans[0].label", "not in the label set"),
        ([{"start": 0, "end": 999, "label": "PER"}], "spans[0].end", "past the text"),
        ([{"start": 4, "end": 5, "label": "PER"}], "spans[0]", "only whitespace"),
        ([{"start": 0, "end": 4, "label": "PER", "colour": 1}], "spans[0]", "unknown fields"),
        (
            [{"start": 0, "end": 9, "label": "PER"}, {"start": 5, "end": 12, "label": "PHONE"}],
            "spans",
            "overlap",
        ),
    ],
)
def test_bad_spans_are_refused_naming_the_field(raw, field, message):
    with pytest.raises(SpanError, match=message) as error:
        check_spans(raw, LABELS, text=HOSTILE)
    assert error.value.field == field


def test_overlaps_pass_when_the_project_allows_them_and_repeats_collapse():
    spans = check_spans(
        [
            {"start": 0, "end": 9, "label": "PER"},
            {"start": 5, "end": 9, "label": "PHONE"},
            {"start": 0, "end": 9, "label": "PER"},
        ],
        LABELS,
        text=HOSTILE,
        overlap=True,
    )
    assert len(spans) == 2


def test_bio_tags_and_back_and_the_repair_of_a_dangling_inside_tag():
    tokens = tokenize("Ann Lee rang 0845 today")
    spans = [{"start": 0, "end": 7, "label": "PER"}, {"start": 13, "end": 17, "label": "PHONE"}]
    tags = bio_tags(spans, tokens)
    assert tags == ["B-PER", "I-PER", "O", "B-PHONE", "O"]
    assert spans_from_tags(tags, tokens) == spans
    repaired = spans_from_tags(["I-PER", "I-PER", "O", "I-PHONE", "B-PHONE"], tokens)
    assert repaired == [
        {"start": 0, "end": 7, "label": "PER"},
        {"start": 13, "end": 17, "label": "PHONE"},
        {"start": 18, "end": 23, "label": "PHONE"},
    ]


def test_the_kind_checks_answers_against_the_item_text_it_is_given():
    kind = kind_for("spans")
    context = KindContext(labels=tuple(LABELS), settings=kind.validate_settings({}, LABELS))
    item = kind.for_item(context, {"id": 3, "text": HOSTILE})
    assert item.text == HOSTILE
    assert kind.validate([{"start": 6, "end": 7, "label": "PER"}], item) == [
        {"start": 5, "end": 9, "label": "PER"}
    ]
    with pytest.raises(InvalidValue, match="past the text") as error:
        kind.validate([{"start": 0, "end": 999, "label": "PER"}], item)
    assert error.value.field == "spans[0].end"
    assert kind.validate([], item) == [] and kind.key([]) == "[]"
    assert kind.decode("[]", []) == [] and kind.display([]) == "no entities"


def test_span_settings_are_checked_and_filled():
    kind = kind_for("spans")
    assert kind.validate_settings({}, LABELS) == {
        "text_field": None,
        "tokenizer": "words",
        "overlap": False,
        "colours": {},
    }
    with pytest.raises(InvalidValue) as error:
        kind.validate_settings({"tokenizer": "sentencepiece"}, LABELS)
    assert error.value.field == "task_settings.tokenizer"
    with pytest.raises(InvalidValue, match="unknown span settings"):
        kind.validate_settings({"colour": "red"}, LABELS)


def test_label_colours_are_palette_indexes_of_known_labels():
    kind = kind_for("spans")
    label = LABELS[0]
    assert kind.validate_settings({"colours": {label: 7}}, LABELS)["colours"] == {label: 7}
    for colours, field in [
        ({"NOPE": 1}, "task_settings.colours.NOPE"),
        ({label: 8}, f"task_settings.colours.{label}"),
        ({label: "red"}, f"task_settings.colours.{label}"),
        ({label: True}, f"task_settings.colours.{label}"),
        ([label], "task_settings.colours"),
    ]:
        with pytest.raises(InvalidValue) as error:
            kind.validate_settings({"colours": colours}, LABELS)
        assert error.value.field == field


TRICKY = [
    "",
    "Zoe\u0301 says\r\nsee www.ex.com \u05e9\u05dc\u05d5\u05dd\u200f",
    "\U0001f44d\U0001f3fd ok! \u0301lead \u093dx !\u0301\u0302x",
    "family \U0001f468\u200d\U0001f469\u200d\U0001f467 a\u200db \u200d\u200d",
    "tabs\tand\u3000ideographic\xa0spaces__under_score 3.50£",
    "\ufe0f\U000e0020 tag \U0001f3f4\U000e0067\U000e0062\U000e007f",
]


@pytest.mark.parametrize("tokenizer", ["words", "characters"])
def test_the_array_tokenizer_matches_the_regex_on_every_text(tokenizer):
    import random

    from labeler.core.span_text import tokenize_many

    alphabet = list("aZ_1 \n\r\t!.£é-") + [
        "\u0301", "\u093d", "\u0903", "\U0001f44d", "\U0001f3fd", "\u200d", "\u200f",
        "\u05e9", "\ufe0f", "\U000e0020", "\u3000", "\xa0", "\ud800",
    ]  # fmt: skip
    rng = random.Random(7)
    texts = TRICKY + ["".join(rng.choices(alphabet, k=rng.randint(0, 14))) for _ in range(3000)]
    owner, starts, ends = tokenize_many(texts, tokenizer)
    found: dict[int, list[tuple[int, int]]] = {}
    for i, start, end in zip(owner.tolist(), starts.tolist(), ends.tolist(), strict=True):
        found.setdefault(i, []).append((start, end))
    for i, text in enumerate(texts):
        assert found.get(i, []) == tokenize(text, tokenizer), repr(text)
