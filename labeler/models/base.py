"""Shared definitions of the data model: roles, queue tiers, the typed value column."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON

ROLES = ("admin", "reviewer", "annotator")
PROJECT_ROLES = ("reviewer", "annotator")
SPLITS = ("train", "test")

# The largest row id every database keeps: id columns are INTEGER, 32 bits on PostgreSQL.
# API bodies that name rows by id document this bound.
MAX_ROW_ID = 2**31 - 1
# The largest integer a database driver binds (SQLite's 64-bit INTEGER).
MAX_BOUND_INT = 2**63 - 1


def row_id(text: str | None) -> int | None:
    """A form value read as a row id to look up: ASCII digits of a number from 1 to
    :data:`MAX_BOUND_INT`, else None (text, a sign, spaces, or digits past what a driver
    binds; int() of thousands of digits raises)."""
    if not text or len(text) > 19 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_BOUND_INT else None


# Item.queue_tier: 0 = has all the labels it needs; 1 = started (0 < n < k), asked
# first so consensus arrives; 2 = not started.
TIER_DONE, TIER_STARTED, TIER_FRESH = 0, 1, 2


# A typed label value (labeler.core.kinds) beside its key; None is SQL NULL ("the key
# is the value"), not the JSON text null.
VALUE_JSON = JSON(none_as_null=True)


def utcnow() -> datetime:
    """Naive UTC: SQLite has no time zones, so every timestamp is stored naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)
