"""Rollout: challenger, promote, roll back, retire, each audited; the promotion policy."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import AuditEvent
from labeler.services import Conflict, ServiceError
from labeler.services.learning import artifacts
from labeler.services.serving import predict as serving
from labeler.services.serving import rollout
from tests.conftest import user
from tests.serving_helpers import add_version, sms, sms_project


def _answers(project):
    frame = serving.check_rows(project, [{"text": t} for t in sms()["text"].iloc[2000:2300]])
    served = serving.predict(project, frame)
    return served.version_id, served.probabilities.tolist()


def test_promote_then_rollback_restores_the_previous_champions_answers_exactly(app):
    with app.app_context():
        project = sms_project()
        admin = user("admin").id
        old = add_version(project, status="champion")
        new = add_version(project, "naive_bayes")
        before = _answers(project)
        rollout.promote(project, new, admin, "better on the test split")
        db.session.commit()
        assert project.champion_id == new.id and old.status == "retired"
        assert _answers(project)[0] == new.id and _answers(project)[1] != before[1]
        rollout.rollback(project, None, admin, "complaints")
        db.session.commit()
        assert project.champion_id == old.id and new.status == "retired"
        assert _answers(project) == before
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [(e.action, e.user_id, e.reason) for e in events] == [
            ("promote", admin, "better on the test split"),
            ("rollback", admin, "complaints"),
        ]
        assert events[1].detail["rolled_back_id"] == new.id
        assert all(e.created_at is not None for e in events)


def test_a_challenger_takes_its_share_and_rolling_it_back_ends_the_canary(app):
    with app.app_context():
        project = sms_project()
        champion = add_version(project, status="champion")
        first = add_version(project, "naive_bayes")
        second = add_version(project, "naive_bayes")
        rollout.make_challenger(project, first, 0.3, user("admin").id, "try it")
        rollout.make_challenger(project, second, 0.5, user("admin").id, "try this one")
        assert first.status == "candidate" and first.traffic_share == 0
        assert serving.challenger(project) is second and second.traffic_share == 0.5
        rollout.rollback(project, second, user("admin").id, "worse")
        assert second.status == "retired" and serving.challenger(project) is None
        assert project.champion_id == champion.id
        with pytest.raises(ServiceError, match="share"):
            rollout.make_challenger(project, first, 1.5, None)


def test_a_version_whose_artifact_is_broken_is_refused_and_the_champion_stays(app):
    with app.app_context():
        project = sms_project()
        champion = add_version(project, status="champion")
        broken = add_version(project, "naive_bayes")
        artifacts.resolve(broken.artifact_path).write_bytes(b"garbage")
        with pytest.raises(Conflict, match="cannot serve: not a readable skops artifact"):
            rollout.promote(project, broken, user("admin").id, "")
        assert project.champion_id == champion.id and champion.status == "champion"
        assert broken.status == "candidate"


def test_the_champion_cannot_be_retired_and_a_first_champion_cannot_roll_back(app):
    with app.app_context():
        project = sms_project()
        champion = add_version(project, status="champion")
        with pytest.raises(Conflict, match="is the champion"):
            rollout.retire(project, champion, None)
        with pytest.raises(Conflict, match="no earlier champion"):
            rollout.rollback(project, champion, None)


@pytest.mark.parametrize(("macro_f1", "promoted"), [(0.95, True), (0.905, False)])
def test_automatic_promotion_needs_the_margin_over_champion_and_baselines(app, macro_f1, promoted):
    app.config["PROMOTION_MARGIN"] = 0.01  # the default, 0, promotes any version as good
    with app.app_context():
        project = sms_project()
        champion = add_version(project, status="champion", macro_f1=0.9)
        new = add_version(
            project,
            "naive_bayes",
            status="training",
            macro_f1=macro_f1,
            baselines={
                "majority": {"macro_f1": 0.46},
                "stratified": {"macro_f1": 0.5},
                "previous": {"macro_f1": 0.9, "version_id": champion.id},
            },
        )
        verdict = rollout.after_training(project, new)
        assert verdict["promoted"] is promoted
        assert project.champion_id == (new.id if promoted else champion.id)
        assert new.status == ("champion" if promoted else "candidate")
        event = db.session.scalars(select(AuditEvent)).one()
        assert event.action == ("promote" if promoted else "promotion_waits")
        assert event.user_id is None and f"champion #{champion.id}" in event.reason


def test_without_baselines_a_version_waits_for_a_person(app):
    with app.app_context():
        project = sms_project()
        new = add_version(project, status="training", baselines={})
        assert rollout.after_training(project, new)["promoted"] is False
        assert project.champion_id is None and new.status == "candidate"
        app.config["PROMOTION_MARGIN"] = 0.0
        passed, _ = rollout.policy_verdict(add_version(project), None, 0.0)
        assert passed


def test_the_promotion_notes_are_plain_statements():
    from labeler.models import ModelVersion
    from labeler.services.serving.rollout import policy_verdict

    version = ModelVersion(
        metrics={"macro_f1": 0.942},
        baseline_metrics={"majority": {"macro_f1": 0.033}, "stratified": {"macro_f1": 0.95}},
    )
    passed, reasons = policy_verdict(version, None, 0.01)
    assert not passed
    assert reasons == [
        "macro-F1 0.942 vs majority 0.033: ahead by 0.909; the margin required is 0.010: passes",
        "macro-F1 0.942 vs stratified 0.950: behind by 0.008; the margin required is 0.010: fails",
    ]
