"""The pairwise kind: its values, agreement (against the krippendorff package),
consensus, position bias and the preference model."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest

from labeler.core import position_bias, preference_model
from labeler.core.kinds import InvalidValue, KindContext, kind_for

KIND = kind_for("pairwise")
PLAIN = KindContext(labels=(), settings=KIND.validate_settings({}, []))
FULL = KindContext(
    labels=(), settings=KIND.validate_settings({"both_bad": True, "strength": True}, [])
)


def test_a_vote_is_a_choice_with_optional_strength_and_order_and_its_key_is_the_choice():
    value = KIND.validate({"choice": "A", "strength": "much", "shown": "BA"}, FULL)
    assert value == {"choice": "A", "strength": "much", "shown": "BA"} and KIND.key(value) == "A"
    assert KIND.validate("tie", PLAIN) == {"choice": "tie"}
    assert KIND.key(KIND.validate({"choice": "A", "shown": "AB"}, PLAIN)) == KIND.key(value)
    assert KIND.display(value) == "A better (much)"
    assert KIND.parse_csv_cell(KIND.csv_cell(value), FULL) == value
    assert KIND.decode("B", None) == {"choice": "B"}


@pytest.mark.parametrize(
    ("raw", "context", "field", "message"),
    [
        ("both_bad", PLAIN, "choice", "not one of"),
        ({"choice": "left"}, FULL, "choice", "not one of"),
        ({"choice": "A", "strength": "much"}, PLAIN, "strength", "does not ask"),
        ({"choice": "tie", "strength": "much"}, FULL, "strength", "for a choice of A or B"),
        ({"choice": "A", "shown": "BB"}, PLAIN, "shown", "shown is one of"),
        ({"choice": "A", "colour": 1}, PLAIN, "value", "unknown answer fields"),
        (3, PLAIN, "value", "a choice or an object"),
    ],
)
def test_bad_votes_name_the_field(raw, context, field, message):
    with pytest.raises(InvalidValue, match=message) as error:
        KIND.validate(raw, context)
    assert error.value.field == field


def test_settings_fill_defaults_and_refuse_unknown_roles():
    settings = KIND.validate_settings({"fields": {"prompt": "question"}}, [])
    assert settings["fields"]["prompt"] == "question"
    assert settings["fields"]["response_a"] == "response_a" and settings["both_bad"] is False
    with pytest.raises(InvalidValue, match="fields maps roles"):
        KIND.validate_settings({"fields": {"answer": "x"}}, [])
    with pytest.raises(InvalidValue, match="unknown pairwise settings"):
        KIND.validate_settings({"colour": True}, [])


def _votes(rows):
    frame = pd.DataFrame(rows, columns=["item", "annotator", "key"])
    return frame.assign(value=[{"choice": k} for k in frame["key"]])


VOTES = _votes(
    [(1, "a", "A"), (1, "b", "A"), (1, "c", "B"),
     (2, "a", "B"), (2, "b", "B"), (2, "c", "B"),
     (3, "a", "tie"), (3, "b", "A"), (3, "c", "tie"),
     (4, "a", "A"), (4, "b", "B"),
     (5, "a", "A"), (5, "b", "A"), (5, "c", "A")]
)  # fmt: skip


def test_alpha_and_percent_agreement_match_the_krippendorff_package_and_a_hand_count():
    figures = {f.name: f for f in KIND.agreement(VOTES, PLAIN)}
    codes = {"A": 0, "B": 1, "tie": 2}
    matrix = np.full((3, 5), np.nan)
    for row in VOTES.itertuples():
        matrix["abc".index(row.annotator), row.item - 1] = codes[row.key]
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    alpha = figures["Krippendorff's alpha (nominal, on A / B / tie)"].value
    assert alpha == pytest.approx(expected, abs=1e-12)
    # agreeing pairs per item: 1/3, 1, 1/3, 0, 1
    assert figures["Percent agreement"].value == pytest.approx((1 / 3 + 1 + 1 / 3 + 0 + 1) / 5)


def test_each_annotator_is_scored_against_the_others_majority_without_their_own_vote():
    figures = {f.name: f for f in KIND.agreement(VOTES, PLAIN)}
    figure = figures["Agreement with the others' majority"]
    scores = {row["annotator"]: row for row in figure.detail["per_annotator"]}
    # c against (a, b): item 1 A (c said B), 2 B (yes), 3 a/b split -> skipped, 5 A (yes)
    assert scores["c"]["n_items"] == 3 and scores["c"]["accuracy"] == pytest.approx(2 / 3)
    # b against the others: item 1 split, 2 B yes, 3 tie (b said A), 4 against a alone
    # (one other counts, so k = 2 projects get a human level too) A (b said B), 5 A yes
    assert scores["b"]["n_items"] == 4 and scores["b"]["accuracy"] == pytest.approx(2 / 4)


def test_consensus_is_majority_or_dawid_skene_in_a_b_terms_and_splits_are_disputed():
    table = KIND.consensus(VOTES, PLAIN, "majority")
    assert table.loc[1, "value"] == {"choice": "A"} and table.loc[3, "key"] == "tie"
    assert table.loc[4, "value"] is None and table.loc[4, "disputed"]
    ds = KIND.consensus(VOTES, PLAIN, "dawid_skene")
    assert ds.loc[2, "key"] == "B" and ds.loc[5, "value"] == {"choice": "A"}
    one = KIND.item_consensus([{"choice": "A", "shown": "BA"}, {"choice": "B"}], PLAIN)
    assert one.value is None and one.disputed
    both_a = [{"choice": "A", "shown": "BA"}, {"choice": "A", "shown": "AB"}]
    two = KIND.item_consensus(both_a, PLAIN)
    assert two.value == {"choice": "A"} and two.unanimous and not two.disputed


def test_position_bias_report_recovers_a_biased_annotators_judged_share():
    rng = np.random.default_rng(3)
    rows = []
    for annotator, habit in (("fair", 0.0), ("lefty", 0.6)):
        for _ in range(4000):
            shown = "AB" if rng.random() < 0.5 else "BA"
            judged = "A" if rng.random() < 0.7 else "B"  # A truly preferred 70% of the time
            choice = shown[0] if rng.random() < habit else judged
            rows.append((annotator, choice, shown))
    votes = pd.DataFrame(rows, columns=["annotator", "choice", "shown"])
    report = position_bias.report(votes).set_index("annotator")
    assert report.loc["fair", "left_share"] == pytest.approx(0.5, abs=0.03)
    assert abs(report.loc["fair", "z"]) < 3 and report.loc["lefty", "z"] > 10
    assert report.loc["lefty", "bias"] == pytest.approx(0.6, abs=0.04)
    assert abs(report.loc["lefty", "a_share"] - 0.7) > 0.05  # the habit hides the preference
    assert report.loc["lefty", "a_share_corrected"] == pytest.approx(0.7, abs=0.03)
    assert position_bias.side("tie", "AB") is None and position_bias.side("B", "AB") == "right"


FIELDS = dict(zip(preference_model.ROLES, preference_model.ROLES, strict=True))


def _pairs(n, seed=0):
    """Pairs where the judged better answer mentions 'because' (a reason), lengths random."""
    rng = np.random.default_rng(seed)
    rows, target = [], []
    for i in range(n):
        filler = " ".join(["word"] * int(rng.integers(3, 30)))
        good = f"it works because the cache is warm {filler}"
        bad = f"it works {' '.join(['word'] * int(rng.integers(3, 30)))}"
        a_wins = rng.random() < 0.5
        rows.append({"prompt": f"why does it work {i}", "response_a": good if a_wins else bad,
                     "response_b": bad if a_wins else good})  # fmt: skip
        target.append(1.0 if a_wins else 0.0)
    return pd.DataFrame(rows), np.asarray(target)


def test_the_preference_model_learns_a_signal_length_cannot_explain_and_is_antisymmetric():
    train, y = _pairs(200)
    test, y_test = _pairs(100, seed=1)
    model = KIND.train(train, [{"choice": "AB"[int(1 - t)]} for t in y], PLAIN, {})
    metrics = KIND.evaluate(model, test, [{"choice": "AB"[int(1 - t)]} for t in y_test], PLAIN)
    assert metrics["accuracy"] > 0.9 and metrics["n_test"] == 100
    assert metrics["longer_response_accuracy"] < 0.75  # length alone is a weak guide here
    assert metrics["calibration"]["expected_calibration_error"] is not None
    swapped = test.rename(columns={"response_a": "response_b", "response_b": "response_a"})
    np.testing.assert_allclose(model.predict_proba(swapped), 1.0 - model.predict_proba(test))
    scores = KIND.uncertainty(model, test, "least_confident", PLAIN)
    assert ((scores >= 0.0) & (scores <= 1.0)).all()
    p = model.predict_proba(test)
    assert np.argmax(scores) == np.argmin(np.abs(p - 0.5))


def test_ties_are_not_learnt_and_the_majority_side_baseline_reads_train_votes():
    values = [{"choice": c} for c in ("A", "A", "B", "tie", "both_bad")]
    assert np.isnan(KIND.targets(values, FULL)[3:]).all()
    baseline = KIND.baselines(values, [{"choice": "A"}, {"choice": "B"}, {"choice": "tie"}], FULL)
    assert baseline["majority_side"] == {"side": "A", "accuracy": 0.5}


def test_the_longer_response_baseline_reads_the_texts_of_decided_pairs_only():
    test = pd.DataFrame(
        {
            "prompt": ["p"] * 5,
            "response_a": ["a long answer", "short", "same", "x", "a longer one"],
            "response_b": ["short", "a long answer", "same", "yy", "b"],
        }
    )
    # A longer and won; B longer and A won; equal length (half right); B longer and
    # won; a tie, left out.
    truth = [{"choice": c} for c in ("A", "A", "B", "B", "tie")]
    found = KIND.item_baselines(test, truth, FULL)
    assert found == {"longer_response": {"accuracy": (1 + 0 + 0.5 + 1) / 4, "n": 4}}
    assert KIND.item_baselines(test.iloc[:0], [], FULL)["longer_response"]["accuracy"] is None
    assert kind_for("single_label").item_baselines(test, truth, FULL) == {}


def test_gold_answers_anchor_the_pairwise_dawid_skene_fit():
    """Two annotators always disagree (A vs B); gold answers say which one is right, and
    a gold item's own row still comes from its votes."""
    rng = np.random.default_rng(3)
    rows, truth = [], {}
    for item in range(60):
        truth[item] = "A" if rng.random() < 0.5 else "B"
        other = "B" if truth[item] == "A" else "A"
        rows.append((item, "honest", {"choice": truth[item]}))
        rows.append((item, "flipper", {"choice": other, "strength": "much"}))
    context = KindContext(labels=(), settings=KIND.validate_settings({"strength": True}, []))
    votes = pd.DataFrame(rows, columns=["item", "annotator", "value"])
    votes["key"] = votes["value"].map(KIND.key)
    gold = {item: {"choice": truth[item]} for item in range(10)}
    fit = KIND.fit_consensus(votes, context, "dawid_skene", known=gold)
    assert fit.annotator_accuracy["honest"] > 0.9 > 0.1 > fit.annotator_accuracy["flipper"]
    assert fit.items.loc[range(10, 60), "value"].tolist() == [
        {"choice": truth[item]} for item in range(10, 60)
    ]
    # A gold item's row is its votes' verdict: one each way, the fit's posterior read
    # with the learnt confusions (the honest annotator is believed), not the known answer
    # copied in.
    assert fit.items.loc[range(10), "key"].tolist() == [truth[item] for item in range(10)]
    assert set(fit.items.columns) == {"value", "key", "confidence", "unanimous", "disputed"}
    # Without gold the two are mirror images: nothing tells them apart.
    unanchored = KIND.fit_consensus(votes, context, "dawid_skene")
    assert unanchored.annotator_accuracy["honest"] == pytest.approx(
        unanchored.annotator_accuracy["flipper"], abs=0.05
    )
    majority = KIND.fit_consensus(votes, context, "majority")
    assert majority.annotator_accuracy is None and majority.items["key"].isna().all()
