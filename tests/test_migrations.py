"""The migrations are the only way the schema changes: they must match the models."""

from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from labeler.cli.instance import apply_migrations
from labeler.extensions import db
from labeler.services.items.search import (
    SEARCH_COLUMNS,
    SEARCH_INDEXES,
    SEARCH_TABLES,
    TRIGGERS,
)
from tests.conftest import make_app
from tests.scale import pgdb


@pytest.fixture
def empty_app(tmp_path):
    """An app on an empty database: SQLite's fresh file, or on PostgreSQL (with
    LABELER_TEST_DATABASE_URL) a database of its own, not the suite's migrated one."""
    with pgdb.empty_database() as url:
        app = make_app(tmp_path, **({"DATABASE_URL": url} if url else {}))
        yield app
        with app.app_context():
            db.engine.dispose()


def test_upgrade_on_an_empty_database_matches_the_models(empty_app):
    with empty_app.app_context():
        apply_migrations()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"include_name": _mapped_or_not_search}
            )
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert diff == []


def _loaded(value):
    return json.loads(value) if isinstance(value, str) else value


def _mapped_or_not_search(name, type_, parent_names):
    """The full-text index (an FTS5 table and its shadow tables; PostgreSQL's GIN
    expression index) is not a model."""
    if type_ == "index":
        return name not in SEARCH_INDEXES
    if type_ == "column":
        return name not in SEARCH_COLUMNS
    return not (type_ == "table" and name in SEARCH_TABLES)


def test_the_search_index_follows_every_change_of_an_item(empty_app):
    """The triggers that keep the index current exist after upgrade; a later revision
    that rebuilds the item table must create them again."""
    from sqlalchemy import text

    with empty_app.app_context():
        apply_migrations()
        if db.engine.dialect.name == "sqlite":
            names = set(
                db.session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            )
            assert set(TRIGGERS) <= names
        db.engine.dispose()


def test_upgrading_a_database_with_data_keeps_it(empty_app):
    from flask_migrate import upgrade
    from sqlalchemy import text

    from labeler.paths import resource_dir

    with empty_app.app_context():
        directory = str(resource_dir("migrations"))
        upgrade(directory=directory, revision="0001_core")
        db.session.execute(
            text(
                "INSERT INTO project (name, labels, guidelines, annotations_per_item, "
                "consensus_method, dispute_threshold, sampling_strategy, model_inputs, display, "
                "test_fraction, retrain_every, split_seed, n_items, filled_slots, created_at) "
                "VALUES ('old', '[]', '', 1, 'majority', 0.5, 'random', '{}', '{}', 0.2, 50, 0, 1,"
                " 0, '2026-01-01')"
            )
        )
        db.session.execute(
            text(
                "INSERT INTO item (project_id, external_id, data, split, n_annotations, "
                "extra_annotations, queue_tier, queue_rank, created_at) VALUES "
                "(1, 'a', '{\"text\": \"kept\"}', 'train', 0, 0, 2, 0.5, '2026-01-01')"
            )
        )
        db.session.commit()
        upgrade(directory=directory)
        data, disputed, estimator, kind, settings = db.session.execute(
            text(
                "SELECT item.data, item.disputed, project.estimator, project.task_kind, "
                "project.task_settings FROM item JOIN project ON project.id = item.project_id"
            )
        ).one()
        # A project from before task kinds is single-label, with no kind settings.
        # (SQLite hands JSON back as text and booleans as 0/1; PostgreSQL as values.)
        assert (_loaded(data), disputed in (0, False), estimator, kind, _loaded(settings)) == (
            {"text": "kept"},
            True,
            "logistic_regression",
            "single_label",
            {},
        )
        db.engine.dispose()
