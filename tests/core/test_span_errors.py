"""Span error analysis: each kind of error found once, in the documented order."""

from __future__ import annotations

from labeler.core.span_errors import NONE, compare, error_report


def s(start: int, end: int, label: str) -> dict:
    return {"start": start, "end": end, "label": label}


def test_each_kind_of_error_is_counted_with_its_confusion():
    reference = [
        s(0, 4, "PER"),
        s(10, 14, "ORG"),
        s(20, 25, "LOC"),
        s(30, 35, "PER"),
        s(40, 44, "ORG"),
    ]
    predicted = [
        s(0, 4, "PER"),  # exact
        s(10, 14, "PER"),  # label: same bounds
        s(21, 25, "LOC"),  # boundary: overlapping, same label
        s(30, 33, "ORG"),  # boundary_label
        s(50, 55, "LOC"),  # spurious
    ]  # (40, 44, ORG) is missed
    found = compare(reference, predicted).as_dict()
    assert found["counts"] == {
        "exact": 1, "label": 1, "boundary": 1, "boundary_label": 1, "spurious": 1, "missed": 1,
    }  # fmt: skip
    pairs = {(c["reference"], c["predicted"]): c["count"] for c in found["confusion"]}
    assert pairs == {
        ("PER", "PER"): 1, ("ORG", "PER"): 1, ("LOC", "LOC"): 1, ("PER", "ORG"): 1,
        (NONE, "LOC"): 1, ("ORG", NONE): 1,
    }  # fmt: skip
    assert found["precision"] == 1 / 5 and found["recall"] == 1 / 5
    assert abs(found["f1"] - 0.2) < 1e-12


def test_a_reference_span_matches_one_prediction_only():
    found = compare([s(0, 10, "PER")], [s(0, 5, "PER"), s(5, 10, "PER")]).as_dict()
    assert found["counts"]["boundary"] == 1 and found["counts"]["spurious"] == 1


def test_report_per_annotator_with_examples():
    rows = [
        ("alice", 1, [s(0, 4, "PER")], [s(0, 4, "PER")]),
        ("bob", 1, [s(0, 4, "PER")], []),
        ("bob", 2, [], [s(1, 2, "ORG")]),
        ("alice", 3, [], []),
    ]
    report = error_report(rows)
    assert report["n_items"] == 3 and report["n_annotations"] == 4
    assert report["annotators"]["alice"]["f1"] == 1.0
    assert report["annotators"]["bob"]["counts"]["missed"] == 1
    assert report["annotators"]["bob"]["f1"] == 0.0
    assert report["overall"]["examples"] == {"missed": [1], "spurious": [2]}
    assert report["annotators"]["alice"]["precision"] == 1.0
