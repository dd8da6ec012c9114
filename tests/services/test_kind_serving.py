"""Serving through the project's task kind: multi-label, rating, spans and pairwise
projects answer ``/predict`` with their champion (the kind's own model), route a
canary share to a challenger, log what they served and feed drift monitoring."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from labeler.core.kinds import InvalidValue, KindContext, kind_for
from labeler.core.kinds.base import TaskKind
from labeler.extensions import db
from labeler.models import ModelVersion, PredictionLog, Project
from labeler.services.learning import artifacts, modeling
from labeler.services.projects.kinds import context as kind_context
from labeler.services.serving import monitoring, prediction_log, rollout
from labeler.services.serving import predict as serving
from tests.conftest import bearer, user
from tests.services.test_kind_training import CASES, N_LABELED, _label, _project

KINDS = list(CASES)


def _trained(kind_name: str) -> Project:
    project, answers = _project(kind_name)
    _label(project, answers, N_LABELED)
    modeling.start_training(project)
    assert project.champion_id is not None
    return project


def _requests(kind_name: str, n: int) -> list[dict[str, Any]]:
    import numpy as np

    rng = np.random.default_rng(11)
    return [CASES[kind_name]["make"](rng)[0] for _ in range(n)]


@pytest.mark.parametrize("kind_name", KINDS)
def test_predict_answers_with_the_kinds_champion_and_logs_its_keys(app, client, tokens, kind_name):
    kind = kind_for(kind_name)
    with app.app_context():
        project = _trained(kind_name)
        project_id, champion_id = project.id, project.champion_id
        context = kind_context(project)
        model = artifacts.load_kind(db.session.get(ModelVersion, champion_id), kind_name)
        wanted = serving.request_fields(project)
    items = _requests(kind_name, 60)
    one = client.post(
        f"/api/v1/projects/{project_id}/predict",
        json={"item": items[0]},
        headers=bearer(tokens["admin"]),
    )
    assert one.status_code == 200, one.json
    assert one.json["model_version_id"] == champion_id
    batch = client.post(
        f"/api/v1/projects/{project_id}/predict",
        json={"items": items},
        headers=bearer(tokens["alice"]),  # a member of the project
    )
    assert batch.status_code == 200, batch.json
    rows = batch.json["predictions"]
    # the kind's own prediction for each item, in order, whatever the transport did
    expected = kind.predict(model, pd.DataFrame(items)[list(wanted)], context)
    assert [row["value"] for row in rows] == expected
    assert rows[0] == {**one.json}
    for row, value in zip(rows, expected, strict=True):
        assert row["label"] == kind.mix_key(value, context)
        assert 0.0 <= row["confidence"] <= 1.0 and not math.isnan(row["confidence"])
        assert row["model_version_id"] == champion_id
    with app.app_context():
        prediction_log.flush_for_reading()
        logged = db.session.scalars(
            select(PredictionLog.predicted_label).order_by(PredictionLog.id)
        ).all()
        assert logged == [rows[0]["label"], *[row["label"] for row in rows]]


def test_each_kind_adds_what_its_model_knows(app, client, tokens):
    expectations = {
        "multi_label": lambda row: (
            set(row["probabilities"]) == set(CASES["multi_label"]["labels"])
            and all(
                (p >= 0.5) == (label in row["value"]) for label, p in row["probabilities"].items()
            )
        ),
        "rating": lambda row: (
            1 <= row["score"] <= 5
            and row["spread"] >= 0
            and row["value"] == min(range(1, 6), key=lambda point: abs(point - row["score"]))
        ),
        "spans": lambda row: all({"start", "end", "label"} <= set(span) for span in row["value"]),
        "pairwise": lambda row: (
            row["value"]["choice"] == ("A" if row["probability_a"] >= 0.5 else "B")
            and row["confidence"] == max(row["probability_a"], 1 - row["probability_a"])
        ),
    }
    for kind_name, check in expectations.items():
        with app.app_context():
            project_id = _trained(kind_name).id
        answered = client.post(
            f"/api/v1/projects/{project_id}/predict",
            json={"items": _requests(kind_name, 20)},
            headers=bearer(tokens["admin"]),
        )
        assert answered.status_code == 200, answered.json
        assert all(check(row) for row in answered.json["predictions"]), kind_name


def test_a_pairwise_request_must_carry_the_prompt_and_both_responses(app, client, tokens):
    with app.app_context():
        project_id = _trained("pairwise").id
    refused = client.post(
        f"/api/v1/projects/{project_id}/predict",
        json={"item": {"prompt": "how?", "response_a": "like this"}},
        headers=bearer(tokens["admin"]),
    )
    assert refused.status_code == 422
    assert refused.json["detail"]["problems"] == ["item 0: missing field 'response_b' (text)"]
    with app.app_context():
        prediction_log.flush_for_reading()
        assert db.session.scalar(select(db.func.count(PredictionLog.id))) == 0


@pytest.mark.parametrize("kind_name", ["rating", "pairwise"])
def test_a_canary_challenger_answers_its_share_and_rolls_back(app, client, tokens, kind_name):
    with app.app_context():
        project = _trained(kind_name)
        champion = db.session.get(ModelVersion, project.champion_id)
        twin = ModelVersion(
            project_id=project.id,
            status="candidate",
            estimator=champion.estimator,
            n_labels=champion.n_labels,
            train_label_counts=champion.train_label_counts,
            metrics=champion.metrics,
            baseline_metrics=champion.baseline_metrics,
            artifact_path=champion.artifact_path,
        )
        db.session.add(twin)
        db.session.commit()
        project_id, champion_id, twin_id = project.id, champion.id, twin.id
    path = f"/api/v1/projects/{project_id}"
    made = client.post(
        f"{path}/models/{twin_id}/challenger",
        json={"share": 1.0, "reason": "canary"},
        headers=bearer(tokens["admin"]),
    )
    assert made.status_code == 200, made.json
    item = _requests(kind_name, 1)[0]
    served = client.post(f"{path}/predict", json={"item": item}, headers=bearer(tokens["admin"]))
    assert served.json["model_version_id"] == twin_id
    back = client.post(f"{path}/models/{twin_id}/rollback", headers=bearer(tokens["admin"]))
    assert back.status_code == 200, back.json
    served = client.post(f"{path}/predict", json={"item": item}, headers=bearer(tokens["admin"]))
    assert served.json["model_version_id"] == champion_id


@pytest.mark.parametrize("kind_name", KINDS)
def test_monitoring_reads_a_kinds_traffic_class_mix_and_confidence(app, kind_name):
    kind = kind_for(kind_name)
    with app.app_context():
        project = _trained(kind_name)
        champion = db.session.get(ModelVersion, project.champion_id)
        context = kind_context(project)
        frame = serving.check_rows(project, _requests(kind_name, monitoring.MIN_PREDICTIONS))
        served = serving.predict(project, frame)
        serving.log_predictions(project.id, served)
        prediction_log.flush_for_reading()
        found = monitoring.figures(project)
        assert found["n_predictions"] == monitoring.MIN_PREDICTIONS
        mix = found["class_mix"]
        assert mix is not None and mix["n"] == monitoring.MIN_PREDICTIONS
        # the training mix and the served mix count the same categories
        assert set(champion.train_label_counts) <= set(mix["labels"])
        assert set(mix["labels"]) <= {*champion.train_label_counts, *served.labels}
        assert all(
            kind.mix_key(value, context) in mix["labels"] for value in served.predictions.values
        )
        assert found["confidence"] is not None and 0 <= found["confidence"]["reference_mean"] <= 1


def test_the_champions_score_after_training_uses_the_kinds_metric(app):
    with app.app_context():
        project = _trained("rating")
        champion = db.session.get(ModelVersion, project.champion_id)
        champion.created_at = champion.created_at.replace(year=2000)  # every label came later
        db.session.commit()
        found = monitoring.production_accuracy(project, champion)
        assert found["metric"] == "mae" and found["higher_is_better"] is False
        assert found["test_score"] == champion.metrics["mae"] and found["score"] >= 0
        assert found["n"] > 0 and "accuracy" not in found
        worse = {**found, "n": 100, "score": found["test_score"] + 0.5}
        alerts = monitoring.crossings({"production_accuracy": worse})
        assert [a["kind"] for a in alerts] == ["accuracy_drop"]
        assert "Mae on newly labeled items" in alerts[0]["message"]
        better = {**found, "n": 100, "score": max(found["test_score"] - 0.5, 0.0)}
        assert monitoring.crossings({"production_accuracy": better}) == []


def test_promoting_a_kind_version_loads_it_first(app):
    with app.app_context():
        project = _trained("spans")
        broken = ModelVersion(
            project_id=project.id,
            status="candidate",
            estimator="x",
            n_labels=1,
            train_label_counts={},
            metrics={},
            baseline_metrics={},
            artifact_path="project-999/version-999.skops",
        )
        db.session.add(broken)
        db.session.flush()
        champion_id = project.champion_id
        with pytest.raises(Exception, match="cannot serve"):
            rollout.promote(project, broken, user("admin").id, "try")
        assert project.champion_id == champion_id


def test_a_kind_that_serves_nothing_is_refused_naming_the_kind():
    from types import SimpleNamespace

    unserved = SimpleNamespace(name="unserved")  # a kind that does not override serve
    with pytest.raises(InvalidValue) as refused:
        TaskKind.serve(unserved, None, pd.DataFrame(), KindContext(()))  # type: ignore[arg-type]
    assert refused.value.field == "task_kind" and "unserved" in str(refused.value)
