"""Full-text search over the values of items' fields.

On SQLite an FTS5 table (``item_search``, created by migration 0011 and kept current by
triggers on ``item``) holds the tokens of every item's field values; a search is an
index lookup that returns item ids, which the browser joins with its other filters.
The table is contentless, so it costs the tokens, not a second copy of the data.

Elsewhere (PostgreSQL) the search falls back to a case-insensitive regular expression on
the item's JSON text with the same rule (whole words, the last a prefix): correct, but a
scan of the project's items.
"""

from __future__ import annotations

import re

from sqlalchemy import String, cast, literal_column, select, table
from sqlalchemy.sql.elements import ColumnElement

from labeler.extensions import db
from labeler.models import Item

SEARCH_TABLE = "item_search"
# The FTS5 table and the shadow tables it keeps: the schema comparison with the models
# leaves these out, as they are not mapped.
SEARCH_TABLES = frozenset(
    {SEARCH_TABLE, *(f"{SEARCH_TABLE}_{part}" for part in ("data", "idx", "docsize", "config"))}
)
TRIGGERS = ("item_search_insert", "item_search_delete", "item_search_update")
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


def matching(query: str) -> ColumnElement[bool] | None:
    """A condition on ``Item`` true for items whose field values contain every word of
    ``query``; None when the query has no words (no filter)."""
    if uses_fts():
        expression = fts_query(query)
        if not expression:
            return None
        ids = (
            select(literal_column("rowid"))
            .select_from(table(SEARCH_TABLE))
            .where(literal_column(SEARCH_TABLE).op("MATCH")(expression))
        )
        return Item.id.in_(ids)
    words = _WORD.findall(query)
    if not words:
        return None
    # The same rule as the FTS5 query: whole words, the last one as a prefix. A word is
    # \w+, so it holds no regular-expression syntax; \m and \M are PostgreSQL's word
    # start and end.
    text_of = cast(Item.data, String)
    patterns = [rf"\m{word}\M" for word in words[:-1]] + [rf"\m{words[-1]}"]
    condition = text_of.regexp_match(patterns[0], flags="i")
    for pattern in patterns[1:]:
        condition = condition & text_of.regexp_match(pattern, flags="i")
    return condition
