"""multi_label's core against independent implementations: nltk's AnnotationTask
(MASI and Jaccard alpha), the krippendorff package and statsmodels (per label)."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pandas as pd
import pytest
from nltk.metrics.agreement import AnnotationTask
from nltk.metrics.distance import jaccard_distance, masi_distance
from statsmodels.stats.inter_rater import fleiss_kappa

from labeler.core.kinds import InvalidValue, KindContext, kind_for
from labeler.core.kinds._label_sets import code_sets
from labeler.core.model_inputs import ModelInputs

LABELS = ("sports", "politics", "tech", "health")
CONTEXT = KindContext(labels=LABELS)
KIND = kind_for("multi_label")


def _votes(n_items=80, n_annotators=4, missing=0.2, seed=1):
    """Annotators who mostly copy a true set and sometimes flip a label."""
    rng = np.random.default_rng(seed)
    rows = []
    for item in range(n_items):
        truth = rng.random(len(LABELS)) < 0.35
        for annotator in range(n_annotators):
            if rng.random() < missing:
                continue
            chosen = truth ^ (rng.random(len(LABELS)) < 0.15)
            if not chosen.any():
                chosen[rng.integers(len(LABELS))] = True
            value = KIND.validate(
                [lbl for lbl, on in zip(LABELS, chosen, strict=True) if on], CONTEXT
            )
            rows.append((item, f"a{annotator}", value, KIND.key(value)))
    return pd.DataFrame(rows, columns=["item", "annotator", "value", "key"])


def _figure(figures, name):
    return next(f for f in figures if f.name == name)


@pytest.mark.parametrize(
    ("name", "distance"),
    [
        ("Krippendorff's alpha (MASI distance)", masi_distance),
        ("Krippendorff's alpha (Jaccard distance)", jaccard_distance),
    ],
)
def test_set_alpha_equals_nltk(name, distance):
    votes = _votes()
    ours = _figure(KIND.agreement(votes, CONTEXT), name).value
    task = AnnotationTask(
        data=[(r.annotator, r.item, frozenset(r.value)) for r in votes.itertuples()],
        distance=distance,
    )
    assert ours == pytest.approx(task.alpha(), abs=1e-12)
    assert 0.0 < ours < 1.0


def test_per_label_alpha_equals_krippendorff_and_kappa_equals_statsmodels():
    votes = _votes()
    figures = KIND.agreement(votes, CONTEXT)
    full = _votes(missing=0.0, seed=4)
    full_figures = KIND.agreement(full, CONTEXT)
    for label in LABELS:
        chose = votes.assign(yes=votes["value"].map(lambda v, lbl=label: float(lbl in v)))
        matrix = chose.pivot(index="annotator", columns="item", values="yes").to_numpy()
        reference = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
        assert _figure(figures, f"{label}: alpha / kappa").value == pytest.approx(
            reference, abs=1e-12
        )
        yes = full.groupby("item")["value"].apply(lambda s, lbl=label: sum(lbl in v for v in s))
        table = np.stack([4 - yes.to_numpy(), yes.to_numpy()], axis=1)
        kappa = _figure(full_figures, f"{label}: alpha / kappa").detail["kappa"]
        assert kappa == pytest.approx(fleiss_kappa(table), abs=1e-12)


def test_empty_sets_are_equal_to_each_other_and_disjoint_from_any_other():
    context = KindContext(LABELS, settings={"allow_empty": True})
    empty, sport = KIND.validate([], context), KIND.validate(["sports"], context)
    votes = pd.DataFrame(
        [(1, "a", empty), (1, "b", empty), (2, "a", sport), (2, "b", empty)],
        columns=["item", "annotator", "value"],
    )
    votes["key"] = votes["value"].map(KIND.key)
    from labeler.core.kinds._label_sets import set_distances

    coded = code_sets(votes, LABELS)
    distances = set_distances(coded.indicator, "masi")
    assert distances[coded.set_code[0], coded.set_code[0]] == 0.0
    assert distances[coded.set_code[0], coded.set_code[2]] == 1.0


def test_validation_names_what_is_wrong():
    with pytest.raises(InvalidValue, match=r"\['weather'\] are not in the label set"):
        KIND.validate(["sports", "weather"], CONTEXT)
    with pytest.raises(InvalidValue, match="does not allow an empty answer"):
        KIND.validate([], CONTEXT)
    with pytest.raises(InvalidValue, match="list of label names"):
        KIND.validate("sports", CONTEXT)
    assert KIND.validate([], KindContext(LABELS, settings={"allow_empty": True})) == []
    assert KIND.validate(["tech", "sports", "tech"], CONTEXT) == ["sports", "tech"]
    with pytest.raises(InvalidValue, match="unknown multi_label settings"):
        KIND.validate_settings({"allow_none": True}, LABELS)
    assert KIND.validate_settings({}, LABELS) == {"allow_empty": False}


def test_majority_consensus_decides_each_label_and_a_split_label_is_disputed():
    votes = _votes(n_items=200, seed=7)
    table = KIND.consensus(votes, CONTEXT, "majority")
    for item, group in votes.groupby("item"):
        expected = KIND.item_consensus(list(group["value"]), CONTEXT)
        row = table.loc[item]
        assert row["value"] == expected.value
        assert row["disputed"] == expected.disputed and row["unanimous"] == expected.unanimous
        assert row["confidence"] == pytest.approx(expected.confidence)
    tie = KIND.item_consensus([["sports"], ["sports", "tech"]], CONTEXT)
    assert tie.value is None and tie.disputed
    won = KIND.item_consensus([["sports"], ["sports", "tech"], ["sports"]], CONTEXT)
    assert won.value == ["sports"] and not won.disputed and won.confidence == pytest.approx(2 / 3)


def test_dawid_skene_per_label_outvotes_a_contrarian():
    rng = np.random.default_rng(3)
    rows = []
    for item in range(150):
        truth = [lbl for lbl in LABELS if rng.random() < 0.4] or ["tech"]
        for annotator in ("good1", "good2"):
            rows.append((item, annotator, truth))
        rows.append((item, "contrarian", [lbl for lbl in LABELS if lbl not in truth] or ["tech"]))
        rows.append((item, "noisy", [lbl for lbl in LABELS if rng.random() < 0.5] or ["sports"]))
    votes = pd.DataFrame(rows, columns=["item", "annotator", "value"])
    votes["value"] = votes["value"].map(lambda v: KIND.validate(v, CONTEXT))
    votes["key"] = votes["value"].map(KIND.key)
    truth = votes[votes["annotator"] == "good1"].set_index("item")["value"]
    ds = KIND.consensus(votes, CONTEXT, "dawid_skene")
    majority = KIND.consensus(votes, CONTEXT, "majority")
    right_ds = (ds["value"] == truth).mean()
    right_majority = (majority["value"] == truth).mean()
    assert right_ds > 0.95 and right_ds > right_majority


def test_csv_cells_read_back_exactly_even_with_separators_in_names():
    labels = ("a|b", "back\\slash", "plain")
    context = KindContext(labels, settings={"allow_empty": True})
    for value in ([], ["plain"], ["a|b", "back\\slash", "plain"], ["back\\slash"]):
        cell = KIND.csv_cell(value)
        assert KIND.parse_csv_cell(cell, context) == value
    assert KIND.csv_cell(["a|b", "plain"]) == "a\\|b|plain"
    assert KIND.one_hot(["plain"], context) == {"a|b": 0, "back\\slash": 0, "plain": 1}


def _text_items(n=240, seed=0):
    rng = np.random.default_rng(seed)
    words = {"sports": "goal match", "politics": "vote senate", "tech": "chip code"}
    texts, values = [], []
    for _ in range(n):
        chosen = [lbl for lbl in words if rng.random() < 0.4] or ["tech"]
        texts.append(" ".join(words[lbl] for lbl in chosen) + " filler")
        values.append(chosen)
    return pd.DataFrame({"text": texts}), values


def test_the_one_vs_rest_model_beats_its_baselines_and_scores_the_queue():
    context = KindContext(("sports", "politics", "tech"))
    X, values = _text_items()
    settings = {"inputs": ModelInputs(text=("text",))}
    model = KIND.train(X[:180], values[:180], context, settings)
    metrics = KIND.evaluate(model, X[180:], values[180:], context)
    base = KIND.baselines(values[:180], values[180:], context)
    assert metrics["micro_f1"] > 0.95 and metrics["hamming_loss"] < 0.05
    assert metrics["micro_f1"] > base["majority"]["micro_f1"] + 0.2
    assert metrics["micro_f1"] > base["stratified"]["micro_f1"] + 0.2
    assert set(metrics["per_label"]) == {"sports", "politics", "tech"}
    assert KIND.predict(model, X[:3], context) == values[:3]
    for strategy in KIND.strategies():
        scores = KIND.uncertainty(
            model, pd.DataFrame({"text": ["goal match", "zzz"]}), strategy, context
        )
        assert scores.shape == (2,) and ((scores >= 0) & (scores <= 1)).all()
    # An item of unknown words sits nearer the boundaries than a clear one.
    margin = KIND.uncertainty(
        model,
        pd.DataFrame({"text": ["goal match vote senate chip code", "qqq"]}),
        "min_margin",
        context,
    )
    assert margin[1] > margin[0]


def test_metrics_on_a_hand_example():
    from labeler.core.kinds._multi_label_model import metrics

    truth = np.array([[1, 0], [1, 1], [0, 0]])
    predicted = np.array([[1, 0], [1, 0], [1, 0]])
    result = metrics(truth, predicted, ["x", "y"])
    # tp=2, fp=1, fn=1 -> micro F1 = 4/6; 2 of 6 decisions wrong; 1 of 3 sets exactly right
    assert result["micro_f1"] == pytest.approx(4 / 6)
    assert result["hamming_loss"] == pytest.approx(2 / 6)
    assert result["subset_accuracy"] == pytest.approx(1 / 3)
    assert result["per_label"]["y"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}


def test_human_level_scores_each_annotator_against_the_others():
    rows = [
        (1, "a", ["sports"]), (1, "b", ["sports"]), (1, "c", ["sports"]),
        (2, "a", ["tech"]), (2, "b", ["tech"]), (2, "c", ["sports"]),
    ]  # fmt: skip
    votes = pd.DataFrame(rows, columns=["item", "annotator", "value"])
    votes["key"] = votes["value"].map(KIND.key)
    result = KIND.human_level(votes, CONTEXT)
    per = {row["annotator"]: row for row in result["per_annotator"]}
    # c on item 2: chose sports (fp) and missed tech (fn) -> 2*1/(2*1+1+1) = 0.5
    assert per["c"]["micro_f1"] == pytest.approx(0.5) and per["c"]["n_items"] == 2
    # a on item 2: the others (b tech, c sports) tie on both labels -> skipped
    assert per["a"]["n_items"] == 1 and per["a"]["micro_f1"] == 1.0
    assert result["overall"] == pytest.approx((1 + 1 + 0.5 * 2) / 4)


def _textbook_binary_dawid_skene(votes, smoothing=0.01, tol=1e-5, max_iter=100):
    """Dawid & Skene (1979) for one yes/no question, with plain dicts and loops:
    ``votes`` maps item -> {annotator: 0/1}. Starts from the vote shares; each
    annotator's 2x2 confusion gets ``smoothing`` per cell; stops when the
    log-likelihood per vote gains less than ``tol`` (crowd-kit's rule). Returns P(yes)
    per item and each annotator's expected share of right answers."""
    annotators = sorted({a for answers in votes.values() for a in answers})
    n_votes = sum(len(answers) for answers in votes.values())
    post = {i: sum(ans.values()) / len(ans) for i, ans in votes.items()}
    previous = -math.inf
    for _ in range(max_iter):
        confusion = {}
        for a in annotators:
            counts = [[smoothing, smoothing], [smoothing, smoothing]]  # [true][given]
            for i, answers in votes.items():
                if a in answers:
                    counts[1][answers[a]] += post[i]
                    counts[0][answers[a]] += 1 - post[i]
            confusion[a] = [[c / sum(row) for c in row] for row in counts]
        prior = sum(post.values()) / len(post)
        log_likelihood = 0.0
        for i, answers in votes.items():
            like_yes, like_no = prior, 1 - prior
            for a, given in answers.items():
                like_yes *= confusion[a][1][given]
                like_no *= confusion[a][0][given]
            post[i] = like_yes / (like_yes + like_no)
            log_likelihood += math.log(like_yes + like_no)
        if (log_likelihood - previous) / n_votes < tol:
            break
        previous = log_likelihood
    accuracy = {}
    for a in annotators:
        mine = [(post[i], answers[a]) for i, answers in votes.items() if a in answers]
        accuracy[a] = sum(p if given else 1 - p for p, given in mine) / len(mine)
    return post, accuracy


def test_per_label_dawid_skene_equals_a_textbook_fit_of_each_label():
    votes = _votes(n_items=120, n_annotators=5, missing=0.3, seed=7)
    fit = KIND.fit_consensus(votes, CONTEXT, "dawid_skene")
    shares = pd.DataFrame(index=fit.items.index, columns=list(LABELS), dtype=float)
    accuracy = pd.Series(0.0, index=sorted(votes["annotator"].unique()))
    for label in LABELS:
        per_item = {}
        for row in votes.itertuples():
            per_item.setdefault(row.item, {})[row.annotator] = int(label in row.value)
        posterior, label_accuracy = _textbook_binary_dawid_skene(per_item)
        shares[label] = pd.Series(posterior)
        accuracy += pd.Series(label_accuracy) / len(LABELS)
    chosen = shares.apply(lambda row: [lbl for lbl in LABELS if row[lbl] > 0.5], axis=1)
    assert fit.items["value"].tolist() == chosen.tolist()
    assert fit.items["key"].tolist() == [KIND.key(value) for value in chosen]
    least_sure = np.maximum(shares, 1 - shares).min(axis=1)
    assert fit.items["confidence"].to_numpy() == pytest.approx(least_sure.to_numpy(), abs=1e-9)
    assert fit.annotator_accuracy.to_dict() == pytest.approx(accuracy.to_dict(), abs=1e-9)
    assert fit.converged and list(KIND.consensus_methods()) == ["majority", "dawid_skene"]
    assert KIND.consensus(votes, CONTEXT, "dawid_skene").equals(fit.items)


def test_gold_sets_anchor_each_labels_fit():
    """Two annotators mirror each other on every label; gold sets say who is right."""
    rng = np.random.default_rng(5)
    rows, truth = [], {}
    for item in range(60):
        on = rng.random(len(LABELS)) < 0.4
        truth[item] = [lbl for lbl, yes in zip(LABELS, on, strict=True) if yes]
        flipped = [lbl for lbl, yes in zip(LABELS, on, strict=True) if not yes]
        rows.append((item, "honest", truth[item]))
        rows.append((item, "flipper", flipped))
    context = KindContext(labels=LABELS, settings={"allow_empty": True})
    votes = pd.DataFrame(rows, columns=["item", "annotator", "value"])
    votes["key"] = votes["value"].map(KIND.key)
    gold = {item: truth[item] for item in range(10)}
    fit = KIND.fit_consensus(votes, context, "dawid_skene", known=gold)
    assert fit.annotator_accuracy["honest"] > 0.9 > 0.1 > fit.annotator_accuracy["flipper"]
    assert fit.items["value"].tolist() == [truth[item] for item in range(60)]
    # Without gold the two are mirror images: nothing tells them apart.
    unanchored = KIND.fit_consensus(votes, context, "dawid_skene")
    assert unanchored.annotator_accuracy["honest"] == pytest.approx(
        unanchored.annotator_accuracy["flipper"], abs=0.05
    )
