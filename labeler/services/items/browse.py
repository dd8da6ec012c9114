"""The item browser: a project's items by search, filters and sort, one keyset page at a time.

A page is one query: the filters become conditions on ``item`` (and indexed lookups on
``annotation`` for the annotator and date filters), the full-text search a lookup in the
FTS5 index, and the cursor a condition on ``(sort value, id)``, so page 500 costs what
page 1 does.

A page in id order never builds its whole match set first: it walks an index in id
order and stops after a page (:func:`_walk`). Searches walk the FTS5 index by rowid
(the item's id); one annotator's labels walk ``ix_annotation_user_item``; the model's
label walks ``ix_item_prediction_id``. Where a narrow range would make that walk long
(a date range, a range of the model's confidence), a bounded probe counts the range's
matches first, up to :data:`PROBE`: fewer, and the page reads them all from the range's
index and sorts them; more, and they are dense enough for the walk.

What a role may ask follows the blind-labeling rules: an annotator browses only the
items they labeled, sees only their own label, and may not filter by what the others
said (status, final label, consensus, annotator), since each of those would reveal it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal_column, or_, select
from sqlalchemy.orm import load_only

from labeler.extensions import db
from labeler.models import Annotation, Item, Project, User
from labeler.services import Forbidden, ServiceError
from labeler.services.items import search

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# The bounded probe: a range with fewer matches than this is read whole and sorted;
# one with more is walked in id order (a page is then ~PAGE_SIZE / PROBE of the walk).
# The items one annotator labeled in a date range are read from an index alone, so
# more of them are read whole than of the model's range (a row each).
PROBE = 1000
DATE_PROBE = 20_000

# status -> the condition an item in that state meets.
STATUSES: dict[str, Any] = {
    "unlabeled": lambda: and_(Item.n_annotations == 0, Item.duplicate_of.is_(None)),
    "in_progress": lambda: and_(
        Item.n_annotations > 0, Item.final_label.is_(None), Item.disputed.is_(False)
    ),
    "final": lambda: Item.final_label.is_not(None),
    "disputed": lambda: Item.disputed.is_(True),
    "ambiguous": lambda: Item.ambiguous.is_(True),
    "gold": lambda: Item.is_gold.is_(True),
    "duplicate": lambda: Item.duplicate_of.is_not(None),
}

# status -> whether one loaded item is in it (the badges of a listed row).
STATUS_FLAGS: dict[str, Any] = {
    "unlabeled": lambda item: item.n_annotations == 0 and item.duplicate_of is None,
    "in_progress": lambda item: (
        item.n_annotations > 0 and item.final_label is None and not item.disputed
    ),
    "final": lambda item: item.final_label is not None,
    "disputed": lambda item: item.disputed,
    "ambiguous": lambda item: item.ambiguous,
    "gold": lambda item: item.is_gold,
    "duplicate": lambda item: item.duplicate_of is not None,
}

# sort -> (the item's attribute walked, or None for the id alone; ascending?). A sort by
# a value lists only the items that have one (a consensus, a prediction).
SORTS: dict[str, tuple[str | None, bool]] = {
    "id": (None, True),
    "newest": (None, False),
    "least_sure": ("consensus_confidence", True),
    "model_least_sure": ("predicted_confidence", True),
}


# Filters that would show an annotator what other people said.
# (The model learned from them too.)
REVIEWER_FILTERS = (
    "status",
    "final_label",
    "annotator",
    "min_confidence",
    "max_confidence",
    "predicted_label",
    "min_prediction",
    "max_prediction",
)
SORTS_FOR_REVIEWERS = ("least_sure", "model_least_sure")


@dataclass(frozen=True)
class Filters:
    """What the browser is asked; ``None`` or empty means no restriction."""

    search: str = ""
    split: str | None = None
    status: str | None = None
    final_label: str | None = None
    annotator: str | None = None  # a username
    min_confidence: float | None = None  # consensus confidence, 0..1
    max_confidence: float | None = None
    predicted_label: str | None = None
    min_prediction: float | None = None  # the model's probability of its label, 0..1
    max_prediction: float | None = None
    labeled_since: datetime | None = None
    labeled_until: datetime | None = None
    sort: str = "id"

    def used(self) -> list[str]:
        """The names of the filters that restrict something."""
        return [name for name in FILTER_NAMES if getattr(self, name) not in (None, "")]


@dataclass(frozen=True)
class Row:
    """One item as the browser lists it."""

    item: Item
    my_label: str | None


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    next_cursor: str | None


# The filters that restrict the list, as fields of Filters; the query string names
# ``search`` ``q`` and adds the sort (:data:`QUERY_NAMES`: the page's form, the API).
FILTER_NAMES = (
    "search",
    "split",
    "status",
    "final_label",
    "annotator",
    "min_confidence",
    "max_confidence",
    "predicted_label",
    "min_prediction",
    "max_prediction",
    "labeled_since",
    "labeled_until",
)
QUERY_NAMES = ("q", *FILTER_NAMES[1:], "sort")


def form_values(args: Any) -> dict[str, str]:
    """What was asked, as typed, to show again in the browser's form."""
    return {name: str(args.get(name) or "") for name in QUERY_NAMES}


def parse_filters(args: Any) -> Filters:
    """Filters from query-string values (:data:`QUERY_NAMES`); a bad value raises a 422
    naming its field."""

    def text(name: str, limit: int = 120) -> str | None:
        raw = str(args.get(name) or "").strip()
        if len(raw) > limit:
            raise ServiceError(f"{name} is limited to {limit} characters", {"field": name})
        return raw or None

    def share(name: str) -> float | None:
        raw = text(name)
        if raw is None:
            return None
        try:
            value = float(raw)
        except ValueError:
            raise ServiceError(f"{name} must be a number", {"field": name}) from None
        if not 0 <= value <= 1:
            raise ServiceError(f"{name} must be between 0 and 1", {"field": name})
        return value

    def when(name: str) -> datetime | None:
        raw = text(name)
        try:
            return datetime.fromisoformat(raw) if raw else None
        except ValueError:
            raise ServiceError(f"{name} must be a date like 2026-01-31", {"field": name}) from None

    def one_of(name: str, allowed: Any) -> str | None:
        raw = text(name)
        if raw is not None and raw not in allowed:
            raise ServiceError(
                f"{name} must be one of {', '.join(allowed)}",
                {"field": name, "allowed": list(allowed)},
            )
        return raw

    return Filters(
        search=text("q", search.MAX_QUERY) or "",
        split=one_of("split", ("train", "test")),
        status=one_of("status", tuple(STATUSES)),
        final_label=text("final_label"),
        annotator=text("annotator"),
        min_confidence=share("min_confidence"),
        max_confidence=share("max_confidence"),
        predicted_label=text("predicted_label"),
        min_prediction=share("min_prediction"),
        max_prediction=share("max_prediction"),
        labeled_since=when("labeled_since"),
        labeled_until=when("labeled_until"),
        sort=one_of("sort", tuple(SORTS)) or "id",
    )


def check_allowed(filters: Filters, role: str) -> None:
    """Refuse (403, naming the filter) what the role may not ask."""
    if role != "annotator":
        return
    for name in REVIEWER_FILTERS:
        if getattr(filters, name) not in (None, ""):
            raise Forbidden(
                f"the {name} filter shows other people's labels; annotators cannot use it",
                {"field": name},
            )
    if filters.sort in SORTS_FOR_REVIEWERS:
        raise Forbidden(
            f"sorting by {filters.sort} shows other people's labels; annotators cannot use it",
            {"field": "sort"},
        )


def _labeled_by(
    project: Project, user_id: int, filters: Filters, sorted_by: str | None = None
) -> ColumnElement[bool]:
    """The item has an annotation by ``user_id`` (in the date range, if one is asked).

    An IN over ``ix_annotation_user_time`` (which holds the item) rather than a
    correlated EXISTS: one annotator's labels are a small share of a large project, and
    SQLite walks the ids the subquery yields in order, instead of testing item after
    item until a page fills. (Pages in id order walk ``ix_annotation_user_item``
    instead, unless the date range holds few labels: :func:`_walk`; for a sort by a
    value see :func:`_member`.)"""
    labeled = select(Annotation.item_id).where(
        Annotation.user_id == user_id,
        Annotation.project_id == project.id,
        *_dated(Annotation.updated_at, filters),
    )
    return _member(labeled, sorted_by)


def _member(ids: Select[Any], sorted_by: str | None) -> ColumnElement[bool]:
    """``item.id IN (ids)``. SQLite reads such an IN first: every item it names, then
    the sort. For a sort by a value over more than :data:`PROBE` ids, ``id + 0`` keeps
    it walking the value's index instead and testing each item against the ids (a page
    is then about PAGE_SIZE / PROBE of the walk)."""
    if sorted_by is None or _fewer_than(ids, PROBE):
        return Item.id.in_(ids)
    return (Item.id + 0).in_(ids)


def _labeled_between(filters: Filters) -> ColumnElement[bool]:
    condition = Annotation.item_id == Item.id
    if filters.labeled_since:
        condition = and_(condition, Annotation.updated_at >= filters.labeled_since)
    if filters.labeled_until:
        condition = and_(condition, Annotation.updated_at < filters.labeled_until)
    return exists().where(condition)


def _annotator_id(filters: Filters, viewer: User, role: str) -> int | None:
    """Whose labels the page is limited to: the annotator's own, or the one asked."""
    if role == "annotator":  # blind: only what this annotator labeled
        return viewer.id
    if not filters.annotator:
        return None
    annotator_id = db.session.scalar(select(User.id).where(User.username == filters.annotator))
    if annotator_id is None:
        raise ServiceError(f"no user named {filters.annotator!r}", {"field": "annotator"})
    return annotator_id


def in_project(project: Project) -> ColumnElement[bool]:
    """``item.project_id = project``, on SQLite with the share of the instance's items
    the project holds as ``likelihood()``. SQLite has no figures on its tables until
    someone runs ANALYZE, and without them takes an equality on any index that leads with
    ``project_id`` for a handful of rows: the first page of a large project then read
    all its items through such an index and sorted them by id (2 s at 1M items, page
    200). The hint keeps the index usable and tells the planner what it matches."""
    condition = Item.project_id == project.id
    if db.engine.dialect.name != "sqlite":
        return condition
    total = db.session.scalar(select(func.sum(Project.n_items))) or 0
    share = min(max(project.n_items / total if total else 1.0, 0.001), 0.999)
    # likelihood() takes a constant, not a bound parameter
    return func.likelihood(condition, literal_column(f"{share:.3f}"))


def _fewer_than(stmt: Select[Any], bound: int) -> bool:
    """Whether ``stmt`` yields fewer than ``bound`` rows (it reads at most that many)."""
    counted = select(func.count()).select_from(stmt.limit(bound).subquery())
    return (db.session.scalar(counted) or 0) < bound


@dataclass(frozen=True)
class _Walk:
    """A page in id order led by an index other than the item table's: ``source`` is
    the table walked, ``key`` its column holding the item's id (the order and the
    cursor), ``where`` the conditions on ``source``."""

    source: Any
    key: Any
    where: tuple[Any, ...]


def _walk(project: Project, filters: Filters, annotator_id: int | None) -> _Walk | None:
    """What a page in id order walks instead of the item table, or None (the item
    table's own order, or a sort by a value)."""
    if SORTS[filters.sort][0] is not None:
        return None
    if annotator_id is not None:
        by = (Annotation.user_id == annotator_id, Annotation.project_id == project.id)
        dated = _dated(Annotation.updated_at, filters)
        # few labels in the date range: the IN over ix_annotation_user_time reads them all
        if dated and _fewer_than(select(Annotation.item_id).where(*by, *dated), DATE_PROBE):
            return None
        return _Walk(Annotation, Annotation.item_id, (*by, *dated))
    if filters.search and search.uses_fts():
        expression = search.fts_query(filters.search)
        if expression:
            index = search.fts_table()
            rowid: ColumnElement[Any] = literal_column(f"{search.SEARCH_TABLE}.rowid")
            return _Walk(index, rowid, (search.fts_match(expression),))
    return None


def _dated(column: Any, filters: Filters) -> list[Any]:
    bounds = []
    if filters.labeled_since:
        bounds.append(column >= filters.labeled_since)
    if filters.labeled_until:
        bounds.append(column < filters.labeled_until)
    return bounds


def conditions(
    project: Project,
    filters: Filters,
    viewer: User,
    role: str,
    walk: _Walk | None = None,
    annotator_id: int | None = None,
) -> list[Any]:
    """The WHERE clause of a browse (without the cursor); the filter a ``walk`` leads
    with is the walk's own condition, so it is left out here."""
    if annotator_id is None:
        annotator_id = _annotator_id(filters, viewer, role)
    where: list[Any] = [in_project(project)]
    sorted_by = SORTS[filters.sort][0]
    if annotator_id is not None:
        if walk is None or walk.source is not Annotation:
            where.append(_labeled_by(project, annotator_id, filters, sorted_by))
    elif filters.labeled_since or filters.labeled_until:
        where.append(_labeled_between(filters))
    if filters.search and (walk is None or walk.source is Annotation):
        ids = search.matching_ids(filters.search) if search.uses_fts() else None
        matched = _member(ids, sorted_by) if ids is not None else search.matching(filters.search)
        if matched is not None:
            where.append(matched)
    if filters.split:
        where.append(Item.split == filters.split)
    if filters.status:
        where.append(STATUSES[filters.status]())
    if filters.final_label:
        where.append(Item.final_label == filters.final_label)
    where += _in_range(
        "consensus_confidence", filters.min_confidence, filters.max_confidence, sorted_by
    )
    if filters.predicted_label:
        where.append(Item.predicted_label == filters.predicted_label)
    where += _in_range(
        "predicted_confidence",
        filters.min_prediction,
        filters.max_prediction,
        sorted_by,
        # ix_item_prediction: the label, then the range. A narrow range is read from it
        # and sorted; a wide one is checked while ix_item_prediction_id walks ids.
        with_index=bool(filters.predicted_label)
        and (sorted_by is not None or _narrow_prediction(project, filters)),
    )
    if sorted_by is not None:  # a sort by a value lists the items that have it
        where.append(getattr(Item, sorted_by).is_not(None))
    return where


def _narrow_prediction(project: Project, filters: Filters) -> bool:
    """Whether the model's label with its confidence range matches fewer than PROBE
    items (a range asked, counted inside ix_item_prediction)."""
    if filters.min_prediction is None and filters.max_prediction is None:
        return False
    matched = select(Item.id).where(
        Item.project_id == project.id,
        Item.predicted_label == filters.predicted_label,
        *_in_range(
            "predicted_confidence",
            filters.min_prediction,
            filters.max_prediction,
            "predicted_confidence",
        ),
    )
    return _fewer_than(matched, PROBE)


def _in_range(
    attribute: str,
    low: float | None,
    high: float | None,
    sorted_by: str | None,
    with_index: bool = False,
) -> list[Any]:
    """``low <= value <= high``. Unless the page is sorted by this value (or an index
    leads with an equality before it), the comparison is on ``value + 0``, which keeps
    SQLite off the value's index: a range scan of a wide range, then a sort of all of
    it by id, costs far more than walking ids until a page is full."""
    column = getattr(Item, attribute)
    if sorted_by != attribute and not with_index:
        column = column + 0
    bounds = []
    if low is not None:
        bounds.append(column >= low)
    if high is not None:
        bounds.append(column <= high)
    return bounds


def _cursor_condition(sort: str, cursor: str | None, key: Any = None) -> Any:
    """The rows after ``cursor``; ``key`` is the column holding the item's id (a walk's)."""
    if not cursor:
        return None
    attribute, ascending = SORTS[sort]
    try:
        if attribute is None:
            last_id = int(cursor)
            key = Item.id if key is None else key
            return key > last_id if ascending else key < last_id
        raw_value, raw_id = cursor.split(",", 1)
        last_value, last_id = float(raw_value), int(raw_id)
    except ValueError:
        raise ServiceError("after is not a cursor this browser gave", {"field": "after"}) from None
    value = getattr(Item, attribute)  # plain comparisons, so the walk follows the index
    return or_(value > last_value, and_(value == last_value, Item.id > last_id))


def _cursor_of(sort: str, item: Item) -> str:
    attribute, _ = SORTS[sort]
    if attribute is None:
        return str(item.id)
    return f"{getattr(item, attribute)!r},{item.id}"


def statement(
    project: Project,
    viewer: User,
    role: str,
    filters: Filters,
    after: str | None = None,
    limit: int = PAGE_SIZE,
) -> Select[tuple[Item]]:
    """The one query of a page: ``limit + 1`` rows, so the extra one says a next page exists."""
    check_allowed(filters, role)
    annotator_id = _annotator_id(filters, viewer, role)
    walk = _walk(project, filters, annotator_id)
    where = conditions(project, filters, viewer, role, walk, annotator_id)
    attribute, ascending = SORTS[filters.sort]
    if walk is not None:
        # The walked index leads: ``key + 0`` keeps SQLite from probing it once per item
        # instead, and the order and the cursor on ``key`` let it stop after a page.
        cursor = _cursor_condition(filters.sort, after, walk.key)
        if cursor is not None:
            where.append(cursor)
        return (
            select(Item)
            .select_from(walk.source)
            .join(Item, Item.id == walk.key + 0)
            .where(*walk.where, *where)
            .order_by(walk.key if ascending else walk.key.desc())
            .limit(limit + 1)
        )
    cursor = _cursor_condition(filters.sort, after)
    if cursor is not None:
        where.append(cursor)
    if attribute is None:
        order = [Item.id if ascending else Item.id.desc()]
    else:
        order = [getattr(Item, attribute), Item.id]
    return select(Item).where(*where).order_by(*order).limit(limit + 1)


def browse(
    project: Project,
    viewer: User,
    role: str,
    filters: Filters,
    after: str | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """One page of the items ``filters`` select, in ``filters.sort`` order after ``after``."""
    items = list(db.session.scalars(statement(project, viewer, role, filters, after, limit)))
    more = len(items) > limit
    items = items[:limit]
    mine = own_labels(viewer, [item.id for item in items])
    rows = [Row(item, mine.get(item.id)) for item in items]
    return Page(rows, _cursor_of(filters.sort, items[-1]) if more and items else None)


def own_labels(viewer: User, item_ids: list[int]) -> dict[int, str]:
    """The viewer's own label on each of ``item_ids`` that they labeled."""
    if not item_ids:
        return {}
    rows = db.session.execute(
        select(Annotation.item_id, Annotation.label).where(
            Annotation.user_id == viewer.id, Annotation.item_id.in_(item_ids)
        )
    )
    return {item_id: label for item_id, label in rows}


def find(project: Project, key: str) -> Item | None:
    """The item whose external id is ``key``, else whose id is ``key`` (jump to an item)."""
    key = key.strip()
    if not key:
        return None
    found = db.session.scalar(
        select(Item)
        .options(load_only(Item.id))
        .where(Item.project_id == project.id, Item.external_id == key)
    )
    if found is None and key.isdigit() and int(key) < 2**63:
        found = db.session.scalar(
            select(Item).where(Item.project_id == project.id, Item.id == int(key))
        )
    return found
