"""insert_rows stores what SQLAlchemy's own INSERT stores, byte for byte, on every database."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import insert, select, text

from labeler.extensions import db
from labeler.models import Item, Project
from labeler.services.data import bulk_insert
from labeler.services.data.bulk_insert import insert_rows
from tests.conftest import make_project

HOSTILE = 'emoji 🎉, "quotes", \\ backslash, \u200f rtl, e\u0301, NUL-free, \r\n CRLF'


def _rows(project: Project, prefix: str, n: int) -> list[dict]:
    return [
        {
            "project_id": project.id,
            "external_id": f"{prefix}{i}",
            "data": {"text": f"{HOSTILE} {i}", "n": i, "x": 0.1 * i, "none": None},
            "split": ("train", "test")[i % 2],
            "queue_rank": i / 7,
            "content_hash": None if i % 3 else f"h{i}",
            "consensus_value": None if i % 2 else ["a", "b"],
            "final_label": None if i % 2 else "a|b",
            "disputed": bool(i % 4 == 1),
        }
        for i in range(n)
    ]


def _stored(project_id: int, prefix: str) -> list[tuple]:
    """Each row as the database holds it (JSON as its text), without id and created_at."""
    columns = [c.name for c in Item.__table__.c if c.name not in ("id", "created_at")]
    cast = "CAST({} AS TEXT)" if db.engine.dialect.name == "postgresql" else "{}"
    listed = ", ".join(cast.format(name) for name in columns)
    rows = db.session.execute(
        text(
            f"SELECT {listed} FROM item WHERE project_id = :p AND external_id LIKE :x "
            "ORDER BY queue_rank"
        ),
        {"p": project_id, "x": prefix + "%"},
    ).all()
    return [tuple(row) for row in rows]


def test_the_same_rows_stored_as_sqlalchemy_stores_them(app, monkeypatch):
    monkeypatch.setattr(bulk_insert, "SQLITE_MAX_VARIABLES", 40)  # several statements
    with app.app_context():
        project = make_project(n_items=1)
        returned = insert_rows(
            Item.__table__, _rows(project, "fast-", 25), returning=("external_id", "id")
        )
        db.session.execute(insert(Item.__table__), _rows(project, "orm-", 25))
        db.session.commit()
        ids = dict(
            db.session.execute(
                select(Item.external_id, Item.id).where(Item.external_id.like("fast-%"))
            ).all()
        )
        assert sorted(returned) == sorted(ids.items()) and len(ids) == 25

        def strip(rows: list[tuple], prefix: str) -> list[tuple]:
            return [
                tuple(v.replace(prefix, "") if isinstance(v, str) else v for v in r) for r in rows
            ]

        fast, orm = _stored(project.id, "fast-"), _stored(project.id, "orm-")
        assert strip(fast, "fast-") == strip(orm, "orm-")
        # Defaults as SQLAlchemy gives them: counts 0, the fresh tier, created now.
        item = db.session.get(Item, ids["fast-3"])
        assert (item.n_annotations, item.extra_annotations, item.is_gold) == (0, 0, False)
        assert item.data == {"text": f"{HOSTILE} 3", "n": 3, "x": 0.1 * 3, "none": None}
        assert item.consensus_value is None and isinstance(item.created_at, datetime)
        assert item.queue_tier == db.session.get(Item, ids["fast-5"]).queue_tier


@pytest.mark.parametrize("rows_per_call", [1, 30])
def test_values_every_row_shares_are_stored_as_sqlalchemy_stores_them(app, rows_per_call):
    """A column all rows share is written into the statement as a literal (integers,
    NULL, short texts with quotes) or stays a parameter (floats, long texts, mixed
    types that compare equal); either way the stored rows are SQLAlchemy's."""
    shared = {
        "n_annotations": 3,
        "queue_tier": -7,
        "consensus_label": 'it\'s "q" 🎉 e\u0301',
        "consensus_confidence": 0.1 + 0.2,
        "consensus_value": ["a", "it's"],
        "final_label": "x" * 100,  # past LITERAL_TEXT_MAX: a parameter
        "final_value": None,
        "disputed": True,
        "gold_label": "",
    }
    with app.app_context():
        project = make_project(n_items=1)
        for prefix, write in (("fast-", "ours"), ("orm-", "theirs")):
            rows = [
                {**row, **shared, "score": (1, 1.0)[i % 2]}
                for i, row in enumerate(_rows(project, prefix, rows_per_call))
            ]
            if write == "ours":
                insert_rows(Item.__table__, rows)
            else:
                db.session.execute(insert(Item.__table__), rows)
        db.session.commit()
        fast, orm = _stored(project.id, "fast-"), _stored(project.id, "orm-")
        assert len(fast) == rows_per_call
        strip = [
            [tuple(str(v).replace(p, "") for v in row) for row in rows]
            for rows, p in ((fast, "fast-"), (orm, "orm-"))
        ]
        assert strip[0] == strip[1]
        # str() tells 1 from 1.0; the two writes hold the same SQL types too
        if db.engine.dialect.name == "sqlite":
            typed = text(
                "SELECT DISTINCT substr(external_id, 1, 4), typeof(score), typeof(queue_tier) "
                "FROM item WHERE external_id LIKE 'fast-%' OR external_id LIKE 'orm-%'"
            )
            kinds = {(side[:3] == "fas", *t) for side, *t in db.session.execute(typed)}
            assert {k[1:] for k in kinds if k[0]} == {k[1:] for k in kinds if not k[0]}


def test_nothing_to_insert_is_no_statement(app):
    with app.app_context():
        db.session.commit()
        assert insert_rows(Item.__table__, [], returning=("id",)) == []
        assert not db.session().in_transaction()  # not even a BEGIN (on SQLite: no write turn)


def test_timestamps_and_values_of_annotations_as_sqlalchemy_stores_them(app):
    """Given timestamps (one shared, one per row) go through the DateTime processor."""
    from labeler.models import Annotation
    from tests.conftest import user

    with app.app_context():
        project = make_project(n_items=4)
        items = db.session.scalars(select(Item.id).where(Item.project_id == project.id)).all()
        alice, bob = user("alice").id, user("bob").id
        shared = datetime(2026, 12, 1, 10, 0, 0)  # no microseconds: formatting must not drop them

        def rows(user_id: int) -> list[dict]:
            return [
                {
                    "item_id": item_id,
                    "user_id": user_id,
                    "project_id": project.id,
                    "label": "spam" if n % 2 else "ham",
                    "value": None if n % 2 else {"x": [1, 2]},
                    "created_at": shared,
                    "updated_at": datetime(2026, 12, 1, 10, 0, n, 123456),
                }
                for n, item_id in enumerate(items)
            ]

        insert_rows(Annotation.__table__, rows(alice))
        db.session.execute(insert(Annotation.__table__), rows(bob))
        db.session.commit()
        cast = "CAST({} AS TEXT)" if db.engine.dialect.name == "postgresql" else "{}"
        listed = ", ".join(
            cast.format(c.name) for c in Annotation.__table__.c if c.name not in ("id", "user_id")
        )
        stored = {
            user_id: db.session.execute(
                text(f"SELECT {listed} FROM annotation WHERE user_id = :u ORDER BY item_id"),
                {"u": user_id},
            ).all()
            for user_id in (alice, bob)
        }
        assert [tuple(r) for r in stored[alice]] == [tuple(r) for r in stored[bob]]
        assert len(stored[alice]) == 4
