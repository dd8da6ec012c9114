"""The migrations are the only way the schema changes: they must match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from labeler.cli import apply_migrations
from labeler.extensions import db
from tests.conftest import make_app


def test_upgrade_on_an_empty_database_matches_the_models(tmp_path):
    app = make_app(tmp_path)
    with app.app_context():
        apply_migrations()
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
        db.engine.dispose()
    assert diff == []
