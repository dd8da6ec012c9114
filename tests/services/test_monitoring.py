"""Monitoring figures, production accuracy, alerts and the retrain-on-drift hook."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from labeler import jobs
from labeler.extensions import db
from labeler.models import Alert, Annotation, Item, ModelVersion, utcnow
from labeler.services.learning import modeling
from labeler.services.serving import alerts, monitoring, prediction_log
from labeler.services.serving import predict as serving
from tests.conftest import user
from tests.serving_helpers import add_version, movie_snippets, sms, sms_project


def _serve(project, texts):
    served = serving.predict(project, serving.check_rows(project, [{"text": t} for t in texts]))
    serving.log_predictions(project.id, served)
    prediction_log.flush()
    db.session.rollback()  # a snapshot that sees the rows just written


def test_figures_per_version_and_no_alert_for_the_usual_traffic(app, monkeypatch):
    # The latency alert reads the wall clock of this (shared, maybe busy) machine; it
    # has its own test below with a latency set on purpose.
    monkeypatch.setattr(alerts, "LATENCY_P95_ALERT_MS", float("inf"))
    with app.app_context():
        project = sms_project()
        version = add_version(project, status="champion")
        db.session.commit()
        _serve(project, sms()["text"].iloc[2000:2300].tolist())
        found = monitoring.figures(project)
        assert found["n_predictions"] == 300 and found["versions"][0]["version_id"] == version.id
        assert found["versions"][0]["p95_ms"] >= found["versions"][0]["p50_ms"] > 0
        assert found["series"][0]["n"] == 300 and found["series"][0]["requests"] == 1
        assert found["versions"][0]["requests"] == 1, "latency is per request, not per row"
        assert found["class_mix"]["level"] == "stable"
        assert found["confidence"]["level"] != "major"  # a small reference: a little noisy
        assert monitoring.crossings(found) == []


def test_a_slow_champion_raises_the_latency_alert(app):
    with app.app_context():
        project = sms_project()
        version = add_version(project, status="champion")
        db.session.commit()
        _serve(project, sms()["text"].iloc[2000:2100].tolist())
        found = monitoring.figures(project)
        found["versions"][0]["p95_ms"] = alerts.LATENCY_P95_ALERT_MS + 1
        assert "latency" in [c["kind"] for c in monitoring.crossings(found)]
        found["versions"][0]["version_id"] = version.id + 1  # not the champion: no alert
        assert "latency" not in [c["kind"] for c in monitoring.crossings(found)]


def test_movie_reviews_raise_drift_alerts_once_and_start_retraining(app, monkeypatch):
    started = []
    monkeypatch.setattr(
        modeling,
        "start_training",
        lambda project, user_id=None, reason="": (
            started.append(reason) or type("J", (), {"id": 99})()
        ),
    )
    with app.app_context():
        project = sms_project()
        add_version(project, status="champion")
        project.auto_retrain_on_drift = True
        db.session.commit()
        _serve(project, movie_snippets()[:300])
        first = jobs.start(monitoring.KIND, project.id)
        second = jobs.start(monitoring.KIND, project.id)
        first, second = (db.session.get(type(first), job.id) for job in (first, second))
        assert set(first.result["new_alerts"]) >= {"drift_class_mix", "drift_confidence"}
        assert first.result["retrain_job"] == 99 and started == ["drift"]
        assert second.result["new_alerts"] == [], "an open alert is refreshed, not repeated"
        kinds = [a.kind for a in db.session.scalars(select(Alert))]
        assert sorted(kinds) == sorted(set(kinds))
        alert = db.session.scalars(select(Alert)).first()
        assert alert.value >= alert.threshold == 0.25


def test_production_accuracy_reads_items_labeled_after_training(app):
    with app.app_context():
        project = sms_project(n_items=120)
        version = add_version(project, status="champion")
        version.created_at = utcnow() - timedelta(hours=1)
        frame = sms().iloc[3000:3120]
        items = db.session.scalars(
            select(Item).where(Item.project_id == project.id).order_by(Item.id)
        ).all()
        for item, label in zip(items[:80], frame["label"].iloc[:80], strict=True):
            item.final_label = label
            db.session.add(
                Annotation(
                    item_id=item.id, user_id=user("alice").id, project_id=project.id, label=label
                )
            )
        old = items[80]
        old.final_label = "spam"
        db.session.add(
            Annotation(
                item_id=old.id,
                user_id=user("alice").id,
                project_id=project.id,
                label="spam",
                updated_at=utcnow() - timedelta(days=1),
            )
        )
        db.session.flush()
        honest = monitoring.production_accuracy(project, db.session.get(ModelVersion, version.id))
        assert honest["n"] == 80 and honest["test_accuracy"] == 0.97
        assert 0.85 < honest["accuracy"] <= 1.0


def test_alerts_resolve_with_who_did_it(app):
    with app.app_context():
        project = sms_project()
        db.session.add(Alert(project_id=project.id, kind="latency", message="slow"))
        db.session.flush()
        alert = monitoring.open_alerts(project)[0]
        monitoring.resolve_alert(project, alert.id, user("rita").id)
        assert alert.resolved_by == user("rita").id and monitoring.open_alerts(project) == []
        with pytest.raises(Exception, match="not found"):
            monitoring.resolve_alert(project, 12345, user("rita").id)
