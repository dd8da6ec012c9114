"""The predict API, rollout over the API, and drift seen through the API.

Models are real (TF-IDF + logistic regression / naive Bayes fitted on SMS spam);
the shifted stream is movie-review snippets (Rotten Tomatoes) or spam only.
"""

from __future__ import annotations

import threading

import pytest
import requests
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Alert, AuditEvent, Job
from labeler.services.learning import artifacts
from tests.conftest import bearer
from tests.serving_helpers import add_version, movie_snippets, sms, sms_project


@pytest.fixture
def served(app):
    """An SMS project with a champion (#1) and a naive Bayes candidate (#2)."""
    app.config["MONITOR_INTERVAL_SECONDS"] = 0  # checks run when a test asks
    with app.app_context():
        project = sms_project(n_items=300)
        champion = add_version(project, status="champion")
        candidate = add_version(project, "naive_bayes")
        db.session.commit()
        return {"project": project.id, "champion": champion.id, "candidate": candidate.id}


def _predict(client, token, project_id, body, headers=None):
    return client.post(
        f"/api/v1/projects/{project_id}/predict",
        json=body,
        headers={**bearer(token), **(headers or {})},
    )


def test_one_item_and_a_batch(client, tokens, served):
    one = _predict(
        client,
        tokens["alice"],
        served["project"],
        {"item": {"text": "URGENT! You won a FREE prize, call 09061701461"}},
    )
    assert one.status_code == 200, one.json
    assert one.json["label"] == "spam" and one.json["model_version_id"] == served["champion"]
    assert one.json["probabilities"]["spam"] == pytest.approx(one.json["confidence"])
    batch = _predict(
        client,
        tokens["rita"],
        served["project"],
        {"items": [{"text": "ok see you soon", "extra": 1}, {"text": "hi"}]},
    )
    assert batch.status_code == 200
    assert [row["label"] for row in batch.json["predictions"]] == ["ham", "ham"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"items": []}, "the batch is empty"),
        ({"items": [{"text": "a"}] * 6}, "at most 5"),
        ({"item": {"txt": "a"}}, "missing field 'text'"),
        ({"item": {"text": ["a"]}}, "must be a string"),
        ({"item": "text"}, "item must be an object"),
        ({}, "send {"),
    ],
)
def test_bad_input_is_a_422_that_says_what_is_wrong(app, client, tokens, served, body, needle):
    app.config["PREDICT_BATCH_MAX"] = 5
    response = _predict(client, tokens["alice"], served["project"], body)
    assert response.status_code == 422
    assert needle in response.json["error"] + str(response.json["detail"])


def test_no_champion_is_a_409_and_outsiders_get_a_404(app, client, tokens):
    with app.app_context():
        project = sms_project()
        db.session.commit()
        project_id = project.id
    response = _predict(client, tokens["alice"], project_id, {"item": {"text": "hi"}})
    assert response.status_code == 409 and "no champion" in response.json["error"]
    assert _predict(client, tokens["carol"], project_id, {"item": {"text": "x"}}).status_code == 404


def test_canary_split_within_tolerance(client, tokens, served):
    url = f"/api/v1/projects/{served['project']}/models/{served['candidate']}/challenger"
    made = client.post(
        url, json={"share": 0.25, "reason": "canary"}, headers=bearer(tokens["admin"])
    )
    assert made.status_code == 200 and made.json["status"] == "challenger"
    answered = [
        _predict(
            client,
            tokens["alice"],
            served["project"],
            {"item": {"text": "hello"}, "request_id": f"r{i}"},
        ).json["model_version_id"]
        for i in range(600)
    ]
    share = answered.count(served["candidate"]) / len(answered)
    assert share == pytest.approx(0.25, abs=0.05)
    again = _predict(
        client,
        tokens["alice"],
        served["project"],
        {"item": {"text": "hello"}},
        {"X-Request-ID": "r7"},
    ).json
    assert again["model_version_id"] == answered[7], "the same request id, the same version"
    stopped = client.post(
        url.replace("/challenger", "/rollback"), json={}, headers=bearer(tokens["admin"])
    )
    assert stopped.json["champion_id"] == served["champion"]
    with client.application.app_context():
        # The champion did not change: the queue keeps its ranks, no re-rank job.
        assert db.session.scalars(select(Job).where(Job.kind == "score")).all() == []


def test_rollout_needs_an_admin_and_rollback_restores_the_answers_exactly(
    client, tokens, served, app
):
    texts = [{"text": t} for t in sms()["text"].iloc[2000:2200]]
    base = f"/api/v1/projects/{served['project']}/models"
    before = _predict(client, tokens["alice"], served["project"], {"items": texts}).json
    denied = client.post(
        f"{base}/{served['candidate']}/promote", json={}, headers=bearer(tokens["rita"])
    )
    assert denied.status_code == 403
    promoted = client.post(
        f"{base}/{served['candidate']}/promote",
        json={"reason": "NB wins"},
        headers=bearer(tokens["admin"]),
    )
    assert promoted.json["champion_id"] == served["candidate"]
    during = _predict(client, tokens["alice"], served["project"], {"items": texts}).json
    assert during["model_version_id"] == served["candidate"] and during != before
    back = client.post(
        f"{base}/{served['candidate']}/rollback",
        json={"reason": "oops"},
        headers=bearer(tokens["admin"]),
    )
    assert back.status_code == 200 and back.json["champion_id"] == served["champion"]
    after = _predict(client, tokens["alice"], served["project"], {"items": texts}).json
    assert after == before
    with app.app_context():
        reasons = [e.reason for e in db.session.scalars(select(AuditEvent))]
        scored = db.session.scalars(select(Job).where(Job.kind == "score").order_by(Job.id)).all()
    assert reasons == ["NB wins", "oops"]
    # Each switch re-ranked the queue with the champion that then served.
    assert [(job.status, job.params["reason"]) for job in scored] == [
        ("done", f"promote of model #{served['candidate']}"),
        ("done", f"rollback of model #{served['candidate']}"),
    ]


def test_a_corrupt_artifact_is_refused_and_the_champion_keeps_serving(client, tokens, served, app):
    with app.app_context():
        from labeler.models import ModelVersion

        path = artifacts.resolve(db.session.get(ModelVersion, served["candidate"]).artifact_path)
    path.write_bytes(b"PK\x03\x04 broken")
    response = client.post(
        f"/api/v1/projects/{served['project']}/models/{served['candidate']}/promote",
        json={},
        headers=bearer(tokens["admin"]),
    )
    assert response.status_code == 409
    assert "cannot serve: not a readable skops artifact" in response.json["error"]
    answer = _predict(client, tokens["alice"], served["project"], {"item": {"text": "hi"}})
    assert answer.status_code == 200 and answer.json["model_version_id"] == served["champion"]


def _stream(client, token, project_id, texts):
    for start in range(0, len(texts), 50):
        response = _predict(
            client, token, project_id, {"items": [{"text": t} for t in texts[start : start + 50]]}
        )
        assert response.status_code == 200


def _check(client, tokens, project_id, auth):
    auth.login("rita")
    client.post(f"/projects/{project_id}/monitoring/check", data={"csrf_token": auth.csrf()})
    return client.get(
        f"/api/v1/projects/{project_id}/monitoring", headers=bearer(tokens["rita"])
    ).json


def test_an_unshifted_stream_raises_no_alert(client, tokens, served, auth, monkeypatch):
    # Only the drift figures are under test: latency on a busy machine is not
    # (tests/services/test_monitoring.py tests the latency alert).
    monkeypatch.setattr("labeler.services.serving.alerts.LATENCY_P95_ALERT_MS", float("inf"))
    _stream(client, tokens["alice"], served["project"], sms()["text"].iloc[2000:2400].tolist())
    figures = _check(client, tokens, served["project"], auth)
    assert figures["class_mix"]["level"] == "stable", figures["class_mix"]
    assert figures["confidence"]["level"] == "stable"
    assert figures["alerts"] == []


@pytest.mark.parametrize("shift", ["movie reviews", "spam only"])
def test_a_shifted_stream_raises_an_alert_shown_on_the_project_page(
    app, client, tokens, served, auth, shift
):
    with app.app_context():
        from labeler.models import Project

        db.session.get(Project, served["project"]).auto_retrain_on_drift = True
        db.session.commit()
    frame = sms()
    texts = (
        movie_snippets()[:400]
        if shift == "movie reviews"
        else frame[frame["label"] == "spam"]["text"].iloc[-300:].tolist()
    )
    _stream(client, tokens["alice"], served["project"], texts)
    figures = _check(client, tokens, served["project"], auth)
    assert figures["class_mix"]["level"] == "major"
    kinds = {alert["kind"] for alert in figures["alerts"]}
    assert "drift_class_mix" in kinds
    page = client.get(f"/projects/{served['project']}").get_data(as_text=True)
    assert "Predicted-class mix drifted" in page and "Resolve" in page
    with app.app_context():
        monitor = db.session.scalars(select(Job).where(Job.kind == "monitor")).one()
        assert monitor.status == "done", monitor.error
        assert monitor.result["new_alerts"] and (
            monitor.result["retrain_job"] or monitor.result["retrain_error"]
        )
        alert_id = db.session.scalars(select(Alert.id)).first()
    client.post(
        f"/projects/{served['project']}/alerts/resolve",
        data={"csrf_token": auth.csrf(), "alert_id": alert_id},
    )
    with app.app_context():
        assert db.session.get(Alert, alert_id).resolved_at is not None


@pytest.fixture
def live(live_server):
    return live_server


def test_switching_champions_under_concurrent_requests_fails_none(live, tokens, served):
    failures, answered = [], []
    stop = threading.Event()

    def send(n: int) -> None:
        with requests.Session() as session:
            session.headers.update(bearer(tokens["alice"]))
            i = 0
            while not stop.is_set() or i < 10:
                response = session.post(
                    f"{live}/api/v1/projects/{served['project']}/predict",
                    json={"item": {"text": f"message {n}-{i}"}},
                )
                i += 1
                if response.status_code != 200:
                    failures.append((response.status_code, response.text))
                else:
                    answered.append(response.json()["model_version_id"])

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    base = f"{live}/api/v1/projects/{served['project']}/models"
    switches = []
    try:
        with requests.Session() as admin:
            admin.headers.update(bearer(tokens["admin"]))
            for round_ in range(6):
                action = "promote" if round_ % 2 == 0 else "rollback"
                response = admin.post(
                    f"{base}/{served['candidate']}/{action}", json={"reason": f"switch {round_}"}
                )
                switches.append((response.status_code, response.text))
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert [code for code, _ in switches] == [200] * 6, switches
    assert not failures, failures[:3]
    assert set(answered) == {served["champion"], served["candidate"]}
