"""The pure data-quality core: normalisation, duplicates, near-duplicates, field checks,
Wilson intervals and annotators' weekly figures."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from labeler.core.annotator_trends import agreement_with_others, weekly_stats
from labeler.core.near_duplicates import near_duplicates
from labeler.core.quality import (
    check_field,
    class_balance,
    duplicate_groups,
    fingerprint,
    fingerprints,
    normalise,
    wilson_interval,
)
from tests.conftest import DATA


def test_normalise_folds_case_whitespace_and_unicode_forms():
    assert normalise("  Hello\t\nWORLD ") == "hello world"
    assert normalise("ｆｕｌｌ width") == "full width"  # NFKC
    assert normalise("cafe\u0301") == normalise("café")


def test_fingerprints_ignore_formatting_but_not_content():
    a = fingerprint({"text": "Win a PRIZE  now"}, ["text"])
    assert a == fingerprint({"text": "win a prize now"}, ["text"])
    assert a != fingerprint({"text": "win a prize later"}, ["text"])
    assert len(a) == 40


def test_fingerprints_of_a_chunk_are_each_rows_fingerprint():
    """The column-wise form (one normalisation of a field's texts joined) gives every
    row the value fingerprint gives it: combining marks, Hangul jamo and case foldings
    at a text's edges, NULs in a text (the careful path), non-texts and missing values."""
    pieces = ["a", "A", "ß", "ﬁ", "e\u0301", "\u0301", "\u0327", "Σ", "ς", " ", "\t", "\u3000"]
    pieces += ["１", "\u212b", "ǅ", "\u1100", "\u1161", "\u11a8", "🎉", "\x1e", "İ", "\x00"]
    generator = random.Random(7)

    def value() -> object:
        if generator.random() < 0.1:
            return generator.choice([None, 3, 2.5, True])
        text = "".join(generator.choice(pieces) for _ in range(generator.randint(0, 6)))
        return text if generator.random() < 0.5 else text.replace("\x00", "")

    for _ in range(2000):
        rows = [{"t": value(), "u": value()} for _ in range(generator.randint(1, 8))]
        for fields in (["t"], ["t", "u"]):
            assert fingerprints(rows, fields) == [fingerprint(row, fields) for row in rows]


def test_every_repeated_sms_is_found():
    """sms-spam.csv repeats 315 texts verbatim; after normalisation even more match."""
    texts = pd.read_csv(DATA / "sms-spam.csv")["text"].astype(str).tolist()
    first = duplicate_groups([fingerprint({"t": t}, ["t"]) for t in texts])
    copies = np.flatnonzero(first != np.arange(len(texts)))
    verbatim = pd.Series(texts).duplicated().to_numpy()
    assert verbatim.sum() == 315
    assert set(np.flatnonzero(verbatim)) <= set(copies)  # every verbatim copy is found
    assert all(normalise(texts[i]) == normalise(texts[first[i]]) for i in copies)
    assert (first[copies] < copies).all()


def test_near_duplicates_find_small_edits_and_leave_different_texts_alone():
    base = "free entry in a weekly competition to win cup final tickets, text now"
    texts = [
        base,
        base.replace("weekly", "wkly"),
        "see you at the cinema tonight",
        base + "!!",
        "completely unrelated message about lunch plans",
        "",
    ]
    found = near_duplicates(texts, threshold=0.7)
    assert found.group.tolist()[:5] == [0, 0, 2, 0, 4]
    assert found.clusters() == [[0, 1, 3]]
    assert ((found.similarity >= 0.7) & (found.similarity <= 1)).all()


def test_near_duplicates_on_sms_pairs_are_really_similar():
    texts = list(
        dict.fromkeys(normalise(t) for t in pd.read_csv(DATA / "sms-spam.csv")["text"].astype(str))
    )
    found = near_duplicates(texts, threshold=0.8)
    assert len(found.clusters()) > 20
    for a, b in found.pairs[:50]:
        shingles = [{t[i : i + 5] for i in range(len(t) - 4)} for t in (texts[a], texts[b])]
        jaccard = len(shingles[0] & shingles[1]) / len(shingles[0] | shingles[1])
        assert jaccard > 0.6  # the estimate is within sampling error of the truth


def test_field_checks_count_missing_empty_outliers_and_bad_numbers():
    texts = ["short text"] * 40 + ["  ", None, "x" * 5000]
    report = check_field(texts, "text")
    assert (report["missing"], report["empty"], report["length_outliers"]) == (1, 1, 1)
    numbers = ["1", "2.5", "3", "n/a", None, "7", "8", "9", "10", "11"]
    report = check_field(numbers, "categorical")
    assert report["unparseable"] == 1 and report["unparseable_examples"] == ["n/a"]
    assert "unparseable" not in check_field(["red", "green", "7"], "categorical")


def test_class_balance_and_wilson_interval():
    balance = class_balance(["ham"] * 9 + ["spam"] * 3 + [None])
    assert balance["counts"] == {"ham": 9, "spam": 3} and balance["imbalance"] == 3.0
    low, high = wilson_interval(9, 10)
    assert low == pytest.approx(0.596, abs=1e-3) and high == pytest.approx(0.982, abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(10, 10)[1] == 1.0


def _votes(rows):
    return pd.DataFrame(
        rows, columns=["item", "annotator", "label", "seconds", "created_at", "gold_label"]
    )


def test_agreement_with_others_is_the_share_of_other_votes_that_match():
    votes = _votes(
        [
            (1, "a", "x", 1, None, None),
            (1, "b", "x", 1, None, None),
            (1, "c", "y", 1, None, None),
            (2, "a", "x", 1, None, None),
        ]
    )
    shares = agreement_with_others(votes).tolist()
    assert shares[:3] == [0.5, 0.5, 0.0] and np.isnan(shares[3])


def test_weekly_stats_flag_fast_labeling_and_falling_agreement():
    monday = datetime(2026, 3, 2, 9)
    rows = []
    for week in range(3):
        for i in range(12):
            item, when = week * 100 + i, monday + timedelta(days=7 * week, minutes=i)
            rows.append((item, "steady", "x", 10.0, when, None))
            # "drifting" agrees in weeks 0-1, then disagrees; labels in 0.5 s in week 2
            late = week == 2
            rows.append(
                (
                    item,
                    "drifting",
                    "y" if late else "x",
                    0.5 if late else 9.0,
                    when,
                    "x" if i == 0 else None,
                )
            )
    table = weekly_stats(_votes(rows))
    drifting = table[table["annotator"] == "drifting"].reset_index(drop=True)
    assert drifting["n_items"].tolist() == [12, 12, 12]
    assert drifting["agreement"].tolist() == [1.0, 1.0, 0.0]
    assert drifting["flags"].tolist() == [[], [], ["fast", "falling_agreement"]]
    assert drifting["gold_accuracy"].tolist() == [1.0, 1.0, 0.0]
    assert table["week"].iloc[0] == pd.Timestamp("2026-03-02")
