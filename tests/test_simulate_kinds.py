"""``labeler simulate`` for multi-label and rating projects against a live server: the
simulated crowd answers sets with per-label noise and ratings with scale noise, and
the recorded run holds the kind's headline metric and consensus against the truth."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from labeler.cli.simulate import simulate_command
from labeler.simulate import datasets, kind_annotators
from labeler.simulate.client import Client
from labeler.simulate.run import Settings, simulate
from tests.test_simulate import live_server  # noqa: F401  (the fixture)

# pytest hands the fixture to each test by name; ruff reads that as a redefinition.
# ruff: noqa: F811

WORDS = {"sports": "goal match", "politics": "vote senate", "tech": "chip code"}


def _topics_csv(path, n=120, seed=0):
    rng = np.random.default_rng(seed)
    lines = ["text,topics"]
    for i in range(n):
        chosen = [label for label in WORDS if rng.random() < 0.4] or ["tech"]
        lines.append(f"{' '.join(WORDS[lbl] for lbl in chosen)} story {i},{'|'.join(chosen)}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _ratings_csv(path, n=100):
    words = {1: "awful", 2: "poor", 3: "fine", 4: "good", 5: "superb"}
    lines = ["text,stars"] + [f"a {words[i % 5 + 1]} film {i},{i % 5 + 1}" for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_set_annotators_flip_each_label_reproducibly():
    crowd = kind_annotators.set_annotators(
        2, list(WORDS), seed=3, noise=[0.0, 0.3], allow_empty=True
    )
    truth = ["sports", "tech"]
    assert [crowd[0].answer(f"x{i}", truth) for i in range(50)] == [truth] * 50
    noisy = [crowd[1].answer(f"x{i}", truth) for i in range(400)]
    flips = np.mean([(lbl in answer) != (lbl in truth) for answer in noisy for lbl in WORDS])
    assert abs(flips - 0.3) < 0.05 and crowd[1].accuracy == 0.7
    assert crowd[1].answer("x7", truth) == noisy[7]  # the same item, the same answer


def test_rating_annotators_err_by_scale_points():
    crowd = kind_annotators.rating_annotators(1, [1, 2, 3, 4, 5], seed=0, noise=[0.6])
    answers = np.array([crowd[0].answer(f"y{i}", 3) for i in range(600)])
    assert set(answers) <= {1, 2, 3, 4, 5} and abs(answers.mean() - 3) < 0.1
    assert abs(np.mean(answers == 3) - crowd[0].accuracy) < 0.05  # P(|noise| < 1/2)


def test_a_multi_label_simulation_records_micro_f1_and_per_label_consensus(
    live_server,
    tmp_path,  # noqa: F811
):
    server, token = live_server
    out = tmp_path / "report"
    csv = _topics_csv(tmp_path / "topics.csv")
    result = CliRunner().invoke(
        simulate_command,
        [
            *("--server", server, "--token", token, "--data", str(csv)),
            *("--kind", "multi_label", "--text-column", "text", "--label-column", "topics"),
            *("--annotators", "3", "--noise", "0.02,0.05,0.3", "--k", "2"),
            *("--budget", "120", "--retrain-every", "30", "--strategy", "min_margin"),
            *("--out", str(out)),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["task_kind"] == "multi_label"
    assert summary["checkpoints"] and summary["train_annotations"] == 120
    last = summary["checkpoints"][-1]
    assert last["headline_metric"] == "micro_f1" and last["headline"] > 0.8
    consensus = summary["consensus"]
    assert consensus["majority"]["n_final"] > 0 and consensus["dawid_skene"]["accuracy"] > 0.8
    by_name = {row["annotator"]: row for row in summary["annotators"]}
    assert by_name["sim-a1"]["observed_accuracy"] > by_name["sim-a3"]["observed_accuracy"]


def test_a_rating_simulation_records_mae(live_server, tmp_path):  # noqa: F811
    server, token = live_server
    data = datasets.rating_csv(_ratings_csv(tmp_path / "stars.csv"), "text", "stars")
    assert data.labels == ["1", "2", "3", "4", "5"] and data.task_kind == "rating"
    crowd = kind_annotators.rating_annotators(2, [1, 2, 3, 4, 5], seed=0, noise=[0.3, 0.8])
    result = simulate(
        Client(server, token),
        data,
        crowd,
        Settings(annotations_per_item=2, strategy="random", budget=80, retrain_every=20),
    )
    assert result.checkpoints and result.checkpoints[-1].headline_metric == "mae"
    assert result.checkpoints[-1].headline is not None and result.checkpoints[-1].headline < 1.5
    assert result.consensus["majority"]["n_final"] > 0
    assert "rating offers no Dawid-Skene consensus" in result.notes
