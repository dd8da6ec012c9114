"""The task-kind interface: the registry, the contract every kind keeps, single_label."""

from __future__ import annotations

import pandas as pd
import pytest

from labeler.core import consensus
from labeler.core.kinds import (
    KEY_MAX,
    KINDS,
    InvalidValue,
    KindContext,
    TaskKind,
    bounded_key,
    canonical_json,
    kind_for,
)

CONTEXT = KindContext(labels=("ham", "spam", "eggs"))


def test_kind_for_finds_each_registered_kind_and_names_the_field_of_an_unknown_one():
    for name, kind in KINDS.items():
        assert kind_for(name) is kind and kind.name == name and isinstance(kind, TaskKind)
    with pytest.raises(InvalidValue, match="unknown task kind 'essay'") as error:
        kind_for("essay")
    assert error.value.field == "task_kind"


def _example_answers(kind: TaskKind) -> list[object]:
    """A few valid raw answers of each kind, in the shape the form sends."""
    return {
        "single_label": ["ham", "spam"],
        "multi_label": [["spam", "ham"], ["eggs"]],
        "rating": [1, 5],
        "pairwise": [{"choice": "B", "shown": "BA"}, "tie", {"choice": "A", "shown": "AB"}],
        "spans": [[{"start": 4, "end": 9, "label": "spam"}], []],
    }[kind.name]


@pytest.mark.parametrize("kind", KINDS.values(), ids=lambda k: k.name)
def test_every_kind_keeps_the_contract(kind):
    labels = {"rating": ("1", "2", "3", "4", "5")}.get(kind.name, CONTEXT.labels)
    context = KindContext(labels=labels, settings=kind.validate_settings({}, list(labels)))
    keys = []
    for raw in _example_answers(kind):
        value = kind.validate(raw, context)
        key = kind.key(value)
        assert isinstance(key, str) and 0 < len(key) <= KEY_MAX
        assert kind.validate(value, context) == value  # canonical values validate to themselves
        assert kind.key(kind.validate(value, context)) == key
        stored = None if value == key else value
        assert kind.decode(key, stored) == value
        keys.append(key)
    assert len(set(keys)) == len(keys)  # different answers, different keys
    assert kind.widget.startswith("kinds/") and kind.widget.endswith(".js")
    assert kind.consensus_methods() and "random" in kind.strategies()


def test_single_label_refuses_what_is_not_one_label_of_the_set():
    kind = kind_for("single_label")
    with pytest.raises(InvalidValue, match="'bacon' is not in the label set") as error:
        kind.validate("bacon", CONTEXT)
    assert error.value.field == "label" and error.value.detail["allowed"] == list(CONTEXT.labels)
    with pytest.raises(InvalidValue, match="must be a string"):
        kind.validate(["ham"], CONTEXT)


def test_single_label_item_consensus_is_the_majority_and_a_tie_is_disputed():
    kind = kind_for("single_label")
    agreed = kind.item_consensus(["spam", "spam", "ham"], CONTEXT)
    assert (agreed.value, round(agreed.confidence, 3), agreed.disputed) == ("spam", 0.667, False)
    tie = kind.item_consensus(["spam", "ham"], CONTEXT)
    assert tie.value is None and tie.disputed
    strict = KindContext(labels=CONTEXT.labels, require_unanimity=True)
    assert kind.item_consensus(["spam", "spam", "ham"], strict).disputed
    assert kind.item_consensus(["spam", "spam"], strict).unanimous


def _votes() -> pd.DataFrame:
    rows = [
        (1, "a", "spam"), (1, "b", "spam"), (1, "c", "ham"),
        (2, "a", "ham"), (2, "b", "ham"), (2, "c", "ham"),
        (3, "a", "spam"), (3, "b", "ham"),
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["item", "annotator", "key"])
    return frame.assign(value=frame["key"])


def test_single_label_consensus_delegates_to_the_core_majority_and_dawid_skene():
    kind = kind_for("single_label")
    votes = _votes()
    table = kind.consensus(votes, CONTEXT, "majority")
    core = consensus.majority_vote(
        votes.rename(columns={"key": "label"})[["item", "annotator", "label"]]
    )
    assert table["value"].tolist() == core["label"].tolist()
    assert table.loc[3, "disputed"] and not table.loc[2, "disputed"]
    ds = kind.consensus(votes, CONTEXT, "dawid_skene")
    assert ds.loc[2, "key"] == "ham" and set(ds.columns) >= {"value", "confidence", "disputed"}
    with pytest.raises(InvalidValue, match="unknown consensus method"):
        kind.consensus(votes, CONTEXT, "vibes")


def test_single_label_agreement_figures_say_how_to_read_them():
    figures = kind_for("single_label").agreement(_votes(), CONTEXT)
    names = [figure.name for figure in figures]
    assert names[0] == "Krippendorff's alpha (nominal)" and "Fleiss' kappa" in names
    assert all(figure.how_to_read for figure in figures)
    assert all(f.value is None or -1.0 <= f.value <= 1.0 for f in figures)


def test_long_keys_become_a_digest_and_json_is_canonical():
    assert bounded_key("short") == "short"
    long = "x" * (KEY_MAX + 1)
    digest = bounded_key(long)
    assert digest.startswith("sha256:") and len(digest) <= KEY_MAX
    assert digest == bounded_key(long) != bounded_key(long + "y")
    assert canonical_json({"b": 1, "a": [2, "é"]}) == '{"a":[2,"é"],"b":1}'


def test_a_kind_without_settings_refuses_some():
    with pytest.raises(InvalidValue, match="take no task settings") as error:
        kind_for("single_label").validate_settings({"allow_empty": True}, ["a"])
    assert error.value.field == "task_settings"
