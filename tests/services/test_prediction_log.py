"""The prediction log: written off the request path, sampled under load, weighted."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from labeler.db_engine import begin_write
from labeler.extensions import db
from labeler.models import PredictionLog, utcnow
from labeler.services.serving import monitoring, prediction_log
from labeler.services.serving import predict as serving
from tests.conftest import bearer
from tests.serving_helpers import add_version, sms, sms_project


def _served(project, n: int):
    texts = sms()["text"].iloc[:n].tolist()
    return serving.predict(project, serving.check_rows(project, [{"text": t} for t in texts]))


def _logged() -> list[PredictionLog]:
    db.session.rollback()  # a fresh snapshot: the writer commits on its own connection
    return list(db.session.scalars(select(PredictionLog).order_by(PredictionLog.id)))


def _champion_project():
    project = sms_project()
    add_version(project, status="champion")
    db.session.commit()
    return project


def test_rows_wait_in_the_buffer_then_the_thread_writes_them(app):
    app.config["PREDICTION_LOG_FLUSH_SECONDS"] = 0.05
    with app.app_context():
        project = _champion_project()
        served = _served(project, 5)
        assert serving.log_predictions(project.id, served) == 5
        deadline = time.monotonic() + 10
        while len(_logged()) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        rows = _logged()
        assert [r.predicted_label for r in rows] == served.labels
        assert [r.confidence for r in rows] == pytest.approx(served.confidences)
        assert rows[0].latency_ms == pytest.approx(served.latency_ms)
        assert all(r.latency_ms is None for r in rows[1:]), "one latency per request"
        assert all(r.weight == 1.0 for r in rows)
        assert abs((utcnow() - rows[0].created_at).total_seconds()) < 60  # the time reads back
        assert prediction_log.writer().pending() == 0


def test_a_long_interval_keeps_rows_until_the_monitoring_api_reads_them(app, client, tokens):
    app.config["PREDICTION_LOG_FLUSH_SECONDS"] = 3600
    with app.app_context():
        project = _champion_project()
        serving.log_predictions(project.id, _served(project, 3))
        assert _logged() == [] and prediction_log.writer().pending() == 3
        project_id = project.id
    found = client.get(
        f"/api/v1/projects/{project_id}/monitoring", headers=bearer(tokens["rita"])
    ).json
    assert found["n_predictions"] == 3 and found["versions"][0]["requests"] == 1


def test_zero_interval_writes_within_the_call(app):
    app.config["PREDICTION_LOG_FLUSH_SECONDS"] = 0
    with app.app_context():
        project = _champion_project()
        serving.log_predictions(project.id, _served(project, 4))
        assert len(_logged()) == 4


def test_the_rate_samples_rows_and_weights_them(app):
    app.config.update(PREDICTION_LOG_RATE=0.3, PREDICTION_LOG_FLUSH_SECONDS=0)
    with app.app_context():
        project = _champion_project()
        kept = serving.log_predictions(project.id, _served(project, 1000))
        rows = _logged()
        assert 220 < kept < 380 and len(rows) == kept
        assert [r.weight for r in rows] == pytest.approx([1 / 0.3] * kept)
        prediction_log.flush()
        found = monitoring.figures(project)
        assert abs(found["n_predictions"] - 1000) < 300 and found["n_logged"] == kept


def test_heavy_traffic_is_sampled_down_to_the_budget_with_unbiased_counts(app):
    app.config.update(PREDICTION_LOG_MAX_ROWS_PER_SECOND=500, PREDICTION_LOG_FLUSH_SECONDS=3600)
    with app.app_context():
        project = _champion_project()
        served = _served(project, 1000)
        kept = sum(serving.log_predictions(project.id, served) for _ in range(20))
        # 20,000 rows offered within about a second: the log keeps a few hundred a
        # second (the first request, before the rate is known, more), not 20,000.
        assert kept < 5000
        prediction_log.flush()
        db.session.rollback()
        found = monitoring.figures(project)
        assert found["n_logged"] == kept
        assert found["n_predictions"] == pytest.approx(20_000, rel=0.2)
        assert found["versions"][0]["requests"] <= 20


def test_a_failed_write_keeps_the_rows_for_the_next_try(app, monkeypatch):
    app.config["PREDICTION_LOG_FLUSH_SECONDS"] = 3600
    with app.app_context():
        project = _champion_project()
        serving.log_predictions(project.id, _served(project, 3))
        writer = prediction_log.writer()

        def broken(rows):
            raise RuntimeError("the database is away")

        monkeypatch.setattr(prediction_log, "_insert", broken)
        assert writer.flush() == 0 and writer.pending() == 3
        monkeypatch.undo()
        assert writer.flush() == 3 and len(_logged()) == 3


def test_old_rows_expire(app):
    app.config["PREDICTION_LOG_FLUSH_SECONDS"] = 0
    with app.app_context():
        project = _champion_project()
        written = serving.log_predictions(project.id, _served(project, 10))
        begin_write()  # the writer committed meanwhile: this read snapshot cannot write
        db.session.execute(
            update(PredictionLog).values(created_at=PredictionLog.created_at - timedelta(days=31))
        )
        assert prediction_log.purge_old(project.id) == written
        assert db.session.scalar(select(func.count(PredictionLog.id))) == 0


def test_the_log_keeps_at_most_the_configured_rows_newest_first(app):
    app.config.update(PREDICTION_LOG_FLUSH_SECONDS=0, PREDICTION_LOG_MAX_ROWS=25)
    with app.app_context():
        project = _champion_project()
        for _ in range(4):
            serving.log_predictions(project.id, _served(project, 10))
        newest = [row.id for row in _logged()][-25:]
        begin_write()
        assert prediction_log.purge_old(project.id) == 15
        db.session.commit()
        assert [row.id for row in _logged()] == newest
        begin_write()
        assert prediction_log.purge_old(project.id) == 0


def test_a_busy_window_is_read_as_a_systematic_sample_that_keeps_the_totals(app):
    app.config["PREDICTION_LOG_FLUSH_SECONDS"] = 0
    with app.app_context():
        project = _champion_project()
        for _ in range(10):  # ten requests of 100 rows: 1,000 rows, 10 latencies
            serving.log_predictions(project.id, _served(project, 100))
        db.session.rollback()
        since = utcnow() - timedelta(hours=1)
        whole = monitoring.window_frame(project, since)
        sample = monitoring.window_frame(project, since, max_rows=100)
        assert len(whole) == 1000 and whole.attrs == {"logged": 1000, "step": 1}
        assert len(sample) == 100 and sample.attrs == {"logged": 1000, "step": 10}
        assert sample["weight"].sum() == whole["weight"].sum() == 1000
        assert sample["created_at"].is_monotonic_increasing
        # Labels in the sample keep the mix of the whole, within sampling error.
        share = (sample["predicted_label"] == "spam").mean()
        assert abs(share - (whole["predicted_label"] == "spam").mean()) < 0.1


def test_closing_writes_what_waits_and_then_writes_at_once(app):
    app.config["PREDICTION_LOG_FLUSH_SECONDS"] = 3600
    with app.app_context():
        project = _champion_project()
        serving.log_predictions(project.id, _served(project, 3))
        prediction_log.close(app)
        assert len(_logged()) == 3 and prediction_log.writer().pending() == 0
        serving.log_predictions(project.id, _served(project, 2))  # no thread left to wait for
        assert len(_logged()) == 5


def test_the_page_says_when_it_read_a_sample(app, client, auth, monkeypatch):
    app.config["PREDICTION_LOG_FLUSH_SECONDS"] = 0
    monkeypatch.setattr(monitoring, "MAX_LOG_ROWS", 100)
    with app.app_context():
        project = _champion_project()
        for _ in range(10):
            serving.log_predictions(project.id, _served(project, 100))
        project_id = project.id
    auth.login("admin")
    page = client.get(f"/projects/{project_id}/monitoring").get_data(as_text=True)
    assert "1,000 predictions" in page
    assert "every 10th logged row, each standing for 10" in page
