"""Serving: the model cache, canary routing, input checks, fallbacks and the log."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from labeler.core.artifacts import ModelArtifactError
from labeler.core.kinds._serving import label_classifier
from labeler.models import Project
from labeler.services import Conflict, ServiceError
from labeler.services.learning import artifacts
from labeler.services.serving import predict as serving
from tests.serving_helpers import add_version, fitted, sms_project

TEXTS = ["Free entry! WIN cash now, text CLAIM to 80082", "see you at lunch tomorrow?"]


def _frame(project: Project, texts=TEXTS):
    return serving.check_rows(project, [{"text": text} for text in texts])


def test_the_champion_answers_like_the_pipeline_it_was_saved_from(app):
    with app.app_context():
        project = sms_project()
        version = add_version(project, status="champion")
        served = serving.predict(project, _frame(project))
        direct = fitted().predict_proba(_frame(project))
        assert served.version_id == version.id and served.labels == ["spam", "ham"]
        classes = fitted().classes
        by_class = [d["probabilities"] for d in served.predictions.details]
        assert [[row[c] for c in classes] for row in by_class] == direct.tolist()
        assert served.probabilities.tolist() == direct.tolist()
        row = served.rows()[0]
        assert set(row["probabilities"]) == {"ham", "spam"}
        assert row["confidence"] == max(row["probabilities"].values())


def test_the_cache_loads_once_and_again_when_the_file_changes(app, monkeypatch):
    with app.app_context():
        project = sms_project()
        version = add_version(project, status="champion")
        loads = []
        original = serving.load_model
        monkeypatch.setattr(serving, "load_model", lambda p: loads.append(p) or original(p))
        first = serving.cache().get(version)
        assert serving.cache().get(version) is first and len(loads) == 1
        path = artifacts.resolve(version.artifact_path)
        os.utime(path, ns=(1, path.stat().st_mtime_ns + 10**9))
        assert serving.cache().get(version) is not first and len(loads) == 2


def test_no_champion_is_a_409(app):
    with app.app_context():
        project = sms_project()
        with pytest.raises(Conflict, match="no champion"):
            serving.predict(project, _frame(project))


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ([{"body": "x"}], "missing field 'text'"),
        ([{"text": 5}], "must be a string"),
        (["just a string"], "expected an object"),
    ],
)
def test_bad_rows_name_the_problem(app, rows, needle):
    with app.app_context():
        project = sms_project()
        with pytest.raises(ServiceError) as caught:
            serving.check_rows(project, rows)
        assert caught.value.status == 422 and needle in str(caught.value.detail)


def test_canary_routing_is_deterministic_per_request_id_and_near_the_share():
    assert not serving.takes_canary(0.0, "a")
    assert all(serving.takes_canary(1.0, str(i)) for i in range(100))
    decisions = [serving.takes_canary(0.2, f"req-{i}") for i in range(10_000)]
    assert decisions == [serving.takes_canary(0.2, f"req-{i}") for i in range(10_000)]
    assert sum(decisions) / len(decisions) == pytest.approx(0.2, abs=0.015)


def test_a_missing_artifact_is_a_clear_error_and_the_last_champion_serves(app):
    with app.app_context():
        project = sms_project()
        old = add_version(project, status="champion")
        before = serving.predict(project, _frame(project))
        new = add_version(project, "naive_bayes", status="champion")  # pointer moved
        artifacts.resolve(new.artifact_path).unlink()
        with pytest.raises(ModelArtifactError, match="file not found"):
            serving.cache().get(new)
        served = serving.predict(project, _frame(project))
        assert served.fallback and served.version_id == old.id
        assert served.probabilities.tolist() == before.probabilities.tolist()


def test_a_corrupt_champion_with_nothing_to_fall_back_on_is_a_503(app):
    with app.app_context():
        project = sms_project()
        version = add_version(project, status="champion")
        artifacts.resolve(version.artifact_path).write_bytes(b"not a zip file")
        with pytest.raises(serving.ServingUnavailable, match="cannot be loaded") as caught:
            serving.predict(project, _frame(project))
        assert caught.value.status == 503 and "not a readable skops artifact" in str(
            caught.value.detail
        )


def test_a_broken_challenger_leaves_its_share_to_the_champion(app):
    with app.app_context():
        project = sms_project()
        champion = add_version(project, status="champion")
        challenger = add_version(project, "naive_bayes", status="challenger")
        challenger.traffic_share = 1.0
        challenger.artifact_path = "../../etc/passwd"
        served = serving.predict(project, _frame(project), "r1")
        assert served.version_id == champion.id and "could not serve" in served.notes[0]


def test_checks_accept_what_json_sends_and_more_and_refuse_the_rest():
    from collections import OrderedDict

    import numpy as np

    project = Project(
        labels=[], model_inputs={"text": ["t"], "numeric": ["n"], "categorical": ["c"]}
    )
    good = [
        {"t": "a", "n": 1, "c": "x"},
        {"t": "b", "n": 2.5, "c": True},
        {"t": "c", "n": None, "c": None},
    ]
    frame = serving.check_rows(project, good)
    assert frame["t"].tolist() == ["a", "b", "c"] and frame["n"].tolist()[:2] == [1, 2.5]
    # Past the fast path: a Mapping that is not a dict, a float subclass, extra fields.
    odd = [OrderedDict(t="a", n=np.float64(0.5), c=3, extra=[1])]
    assert serving.check_rows(project, odd)["n"].tolist() == [0.5]
    with pytest.raises(ServiceError) as caught:
        serving.check_rows(project, [*good, {"t": "d", "n": True, "c": [1]}, {"n": 1, "c": "x"}])
    assert caught.value.detail["problems"] == [
        "item 3: field 'n' must be a number or null, got bool",
        "item 3: field 'c' must be a string, number, boolean or null, got list",
        "item 4: missing field 't' (text)",
    ]


@pytest.mark.parametrize("classes", [["ham", "spam"], ["a", "b", "c"]])
def test_response_rows_name_every_class_probability(classes):
    import numpy as np

    probabilities = np.random.default_rng(0).dirichlet(np.ones(len(classes)), size=4)
    best = probabilities.argmax(axis=1)

    class Model:  # what a TrainedModel offers serving
        def predict_proba(self, X):
            return probabilities

    Model.classes = classes
    served = serving.Served(7, label_classifier(Model(), pd.DataFrame(index=range(4))), 1.0)
    rows = served.rows()
    assert [row["label"] for row in rows] == [classes[i] for i in best]
    for row, expected in zip(rows, probabilities.tolist(), strict=True):
        assert row["probabilities"] == dict(zip(classes, expected, strict=True))
        assert row["confidence"] == max(expected) and row["model_version_id"] == 7
