"""The items index job starts by itself after an import and after the champion changes,
debounced: never more than one queued per project, and nothing for a rolled-back change."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from labeler import jobs
from labeler.extensions import db
from labeler.models import Item, Job, Project
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows
from labeler.services.items import index_trigger, similar
from labeler.services.serving import rollout
from tests.conftest import make_project
from tests.serving_helpers import add_version, sms_project

MAPPING = ColumnMapping(id="id", text=("text",))


def _rows(start: int, n: int) -> list[tuple[int, dict]]:
    return [
        (i + 1, {"id": f"new{start + i}", "text": f"win a free prize now {i}"}) for i in range(n)
    ]


def _index_jobs(project_id: int) -> list[Job]:
    return list(
        db.session.scalars(
            select(Job)
            .where(Job.kind == "items_index", Job.project_id == project_id)
            .order_by(Job.id)
        )
    )


class _Held:
    """An executor that keeps what it is handed (as the database queue does until a
    worker claims it)."""

    def __init__(self) -> None:
        self.dispatched: list[int] = []

    def dispatch(self, job_id: int) -> None:
        self.dispatched.append(job_id)


@pytest.fixture
def held(app):
    executor, app.extensions["labeler.jobs"] = app.extensions["labeler.jobs"], _Held()
    yield app.extensions["labeler.jobs"]
    app.extensions["labeler.jobs"] = executor


def test_an_import_into_a_project_with_a_champion_indexes_its_items(app):
    with app.app_context():
        project = sms_project(n_items=30, test_fraction=0.0)
        add_version(project, status="champion")
        db.session.commit()
        assert _index_jobs(project.id) == []  # nothing before the change
        import_rows(project, _rows(0, 5), MAPPING)
        db.session.commit()  # the inline executor runs the job on commit
        (job,) = _index_jobs(project.id)
        assert job.status == "done", job.error
        assert job.params == {"reason": "import"} and job.result["items"] == 35
        assert similar.load_index(project) is not None
        assert db.session.scalar(
            select(Item.predicted_label).where(Item.external_id == "new0")
        ) in ("ham", "spam")


def test_requests_are_debounced_to_one_queued_job_per_project(app, held):
    with app.app_context():
        project = sms_project(n_items=10, test_fraction=0.0)
        add_version(project, status="champion")
        db.session.commit()
        for start in (0, 10):
            import_rows(project, _rows(start, 2), MAPPING)
            db.session.commit()
        (first,) = _index_jobs(project.id)
        assert held.dispatched == [first.id] and first.status == "queued"
        first.status = "running"  # it may have read the items before the next import
        db.session.commit()
        for start in (20, 30, 40):
            import_rows(project, _rows(start, 2), MAPPING)
            db.session.commit()
        statuses = [job.status for job in _index_jobs(project.id)]
        assert statuses == ["running", "queued"]
        assert len(held.dispatched) == 2


def test_a_new_champion_queues_it_and_a_rolled_back_change_queues_nothing(app, held):
    with app.app_context():
        project = sms_project(n_items=10, test_fraction=0.0)
        first = add_version(project, status="champion")
        second = add_version(project, estimator="naive_bayes")
        db.session.commit()
        import_rows(project, _rows(0, 2), MAPPING)
        db.session.rollback()  # an import that failed later
        assert _index_jobs(project.id) == [] and held.dispatched == []
        rollout.promote(project, second, None, "better")
        db.session.commit()
        (job,) = _index_jobs(project.id)
        assert job.params == {"reason": "promote"}
        job.status = "done"
        db.session.commit()
        rollout.rollback(project, None, None, "worse")
        db.session.commit()
        assert [j.params["reason"] for j in _index_jobs(project.id)] == ["promote", "rollback"]
        assert db.session.get(Project, project.id).champion_id == first.id


def test_no_champion_no_job(app, held):
    with app.app_context():
        project = make_project("Plain", n_items=3)
        db.session.commit()
        import_rows(project, _rows(0, 2), MAPPING)
        db.session.commit()
        assert _index_jobs(project.id) == [] and held.dispatched == []


def test_a_job_with_a_newer_one_queued_skips_itself(app, held):
    with app.app_context():
        project = sms_project(n_items=10, test_fraction=0.0)
        add_version(project, status="champion")
        db.session.commit()
        older = Job(kind="items_index", project_id=project.id, params={})
        newer = Job(kind="items_index", project_id=project.id, params={})
        db.session.add_all([older, newer])
        db.session.commit()
        jobs.run(older.id)
        db.session.refresh(older)
        assert older.status == "done"
        assert older.result == {"skipped": f"job #{newer.id} indexes the items after this one"}
        assert index_trigger.newer_queued(newer) is None
