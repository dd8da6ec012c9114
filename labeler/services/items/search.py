"""Full-text search over the values of items' fields.

On SQLite an FTS5 table (``item_search``, created by migration 0011 and kept current by
triggers on ``item``) holds the tokens of every item's field values; a search is an
index lookup that returns item ids, which the browser joins with its other filters.
The table is contentless, so it costs the tokens, not a second copy of the data.

On PostgreSQL the same rule (every word, the last one a prefix) is a text-search query
on ``item.search_document``, a stored generated ``tsvector`` column with a GIN index,
``ix_item_search`` (migration 0012_items; neither is mapped, PostgreSQL computes them):
the ``simple`` configuration (lower-cased words, no stemming, no stop words, as FTS5's
unicode61) over the item's string and number values. Unlike FTS5, PostgreSQL keeps
diacritics (``unaccent`` cannot be used in a generated column).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Select, func, literal, literal_column, select, table
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import TableClause

from labeler.extensions import db
from labeler.models import Item

SEARCH_TABLE = "item_search"
# The FTS5 table and the shadow tables it keeps: the schema comparison with the models
# leaves these out, as they are not mapped.
SEARCH_TABLES = frozenset(
    {SEARCH_TABLE, *(f"{SEARCH_TABLE}_{part}" for part in ("data", "idx", "docsize", "config"))}
)
TRIGGERS = ("item_search_insert", "item_search_delete", "item_search_update")
# PostgreSQL: the generated column and GIN index migration 0012_items creates. Not in
# the models either (one dialect's), so the schema comparison leaves them out too.
PG_INDEX = "ix_item_search"
PG_COLUMN = "search_document"
SEARCH_INDEXES = frozenset({PG_INDEX})
SEARCH_COLUMNS = frozenset({PG_COLUMN})
MAX_QUERY = 200

_WORD = re.compile(r"\w+", re.UNICODE)


def fts_query(query: str) -> str:
    """The FTS5 expression for what a person typed: every word must appear (a prefix
    match on the last one, so results follow typing). Quoting each word keeps FTS5's
    operators (AND, NEAR, ``*``, ``:``) out of user input."""
    words = _WORD.findall(query)
    if not words:
        return ""
    quoted = [f'"{word}"' for word in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def uses_fts() -> bool:
    return db.engine.dialect.name == "sqlite"


def fts_table() -> TableClause:
    """The FTS5 table, to select from (its ``rowid`` is the item's id)."""
    return table(SEARCH_TABLE)


def fts_match(expression: str) -> ColumnElement[bool]:
    """``item_search MATCH expression`` (an expression from :func:`fts_query`)."""
    return literal_column(SEARCH_TABLE).op("MATCH")(expression)


def matching_ids(query: str) -> Select[Any] | None:
    """SQLite: the ids of the items whose field values contain every word of ``query``
    (a select on the FTS5 index); None when the query has no words."""
    expression = fts_query(query)
    if not expression:
        return None
    return select(literal_column("rowid")).select_from(fts_table()).where(fts_match(expression))


def matching(query: str) -> ColumnElement[bool] | None:
    """A condition on ``Item`` true for items whose field values contain every word of
    ``query``; None when the query has no words (no filter). (The browser's pages in id
    order walk the FTS5 index instead: ``fts_table`` and ``fts_match``.)"""
    if uses_fts():
        ids = matching_ids(query)
        return None if ids is None else Item.id.in_(ids)
    expression = ts_query(query)
    if not expression:
        return None
    document = literal_column(f"{Item.__tablename__}.{PG_COLUMN}")
    simple = literal_column("'simple'::regconfig")
    return document.op("@@")(func.to_tsquery(simple, literal(expression)))


def ts_query(query: str) -> str:
    """The PostgreSQL tsquery for what a person typed, by the FTS5 rule: every word,
    the last one a prefix. A word is \\w+, so it holds none of tsquery's operators."""
    words = _WORD.findall(query)
    if not words:
        return ""
    return " & ".join([*words[:-1], f"{words[-1]}:*"])
