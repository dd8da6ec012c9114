"""Projects: creating them, their label sets, members and derived counters."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select, update

from labeler.core.kinds import DEFAULT_KIND, InvalidValue, kind_for
from labeler.extensions import db
from labeler.models import (
    PROJECT_ROLES,
    TIER_DONE,
    TIER_FRESH,
    TIER_STARTED,
    Annotation,
    Item,
    Membership,
    Project,
    User,
)
from labeler.services import Conflict, NotFound, ServiceError
from labeler.services.labeling.gold import restore_gold_tier

if TYPE_CHECKING:
    from labeler.services.data.import_spec import ColumnMapping

RESERVED_KEYS = {"s", "b", "?"}  # skip, back, help in the annotation form


def parse_labels(text: str, required: bool = True) -> list[dict[str, Any]]:
    """Parse one label per line, ``name | hotkey | description`` (hotkey, description optional)."""
    labels = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) > 3:
            raise ServiceError(f"label line {number}: use 'name | hotkey | description'")
        name, hotkey, description = (parts + ["", ""])[:3]
        labels.append({"name": name, "hotkey": hotkey or None, "description": description})
    return validate_labels(labels, required)


def validate_labels(labels: list[dict[str, Any]], required: bool = True) -> list[dict[str, Any]]:
    """Check names and hotkeys; give labels without a hotkey the next free digit 1-9.
    ``required``: an empty set is refused (kinds whose answers name labels)."""
    if not labels and not required:
        return []
    if not labels:
        raise ServiceError("a project needs at least one label", {"field": "labels"})
    names: set[str] = set()
    keys: set[str] = set()
    cleaned = []
    for position, label in enumerate(labels, start=1):
        name = str(label.get("name", "")).strip()
        if not name or len(name) > 120:
            raise ServiceError(f"label {position}: a name of 1-120 characters is required")
        if name in names:
            raise ServiceError(f"label {name!r} appears twice")
        hotkey = (label.get("hotkey") or "") or None
        if hotkey is not None:
            hotkey = str(hotkey)
            if len(hotkey) != 1 or hotkey.lower() in RESERVED_KEYS or hotkey in keys:
                raise ServiceError(
                    f"label {name!r}: hotkey {hotkey!r} must be one character, "
                    "unused, and not s, b or ?"
                )
            keys.add(hotkey)
        names.add(name)
        cleaned.append(
            {"name": name, "hotkey": hotkey, "description": str(label.get("description") or "")}
        )
    free = (d for d in "123456789" if d not in keys)
    for label in cleaned:
        if label["hotkey"] is None:
            label["hotkey"] = next(free, None)
    return cleaned


def create_project(
    name: str,
    labels: list[dict[str, Any]],
    guidelines: str = "",
    annotations_per_item: int = 1,
    test_fraction: float = 0.2,
    task_kind: str = DEFAULT_KIND,
    task_settings: dict[str, Any] | None = None,
    label_scale: str = "nominal",
    **settings: Any,
) -> Project:
    """A new project of ``task_kind`` (fixed from now on), its kind's ``task_settings``
    checked by the kind."""
    name = name.strip()
    if not name or len(name) > 120:
        raise ServiceError("a project name of 1-120 characters is required", {"field": "name"})
    if db.session.scalar(select(Project).where(Project.name == name)):
        raise Conflict(f"a project named {name!r} already exists", {"field": "name"})
    if not 1 <= int(annotations_per_item) <= 50:
        raise ServiceError("annotations per item must be between 1 and 50")
    if not 0.0 <= float(test_fraction) < 1.0:
        raise ServiceError("the test fraction must be at least 0 and below 1")
    if label_scale not in ("nominal", "ordinal", "interval"):
        raise ServiceError(
            "label_scale must be nominal, ordinal or interval", {"field": "label_scale"}
        )
    try:
        kind = kind_for(task_kind)
        labels = validate_labels(labels or [], required=kind.uses_labels)
        cleaned = kind.validate_settings(task_settings or {}, [label["name"] for label in labels])
    except InvalidValue as error:
        raise ServiceError(str(error), {"field": error.field, **error.detail}) from None
    project = Project(
        name=name,
        task_kind=kind.name,
        task_settings=cleaned,
        label_scale=label_scale,
        labels=labels,
        guidelines=guidelines,
        annotations_per_item=int(annotations_per_item),
        test_fraction=float(test_fraction),
        model_inputs={},
        display={},
        **settings,
    )
    db.session.add(project)
    db.session.flush()
    return project


def register_fields(project: Project, mapping: ColumnMapping) -> None:
    """Remember which fields the model reads and how the form shows them."""
    inputs = {k: list(v) for k, v in (project.model_inputs or {}).items()}
    for kind in ("text", "numeric", "categorical"):
        merged = dict.fromkeys([*inputs.get(kind, []), *getattr(mapping, kind)])
        inputs[kind] = list(merged)
    project.model_inputs = inputs
    display = dict(project.display or {})
    display["text"] = list(dict.fromkeys([*display.get("text", []), *mapping.text]))
    display["meta"] = list(dict.fromkeys([*display.get("meta", []), *mapping.meta]))
    if mapping.image:
        display["image"] = mapping.image
    project.display = display


def recount(project: Project) -> None:
    """Recompute the denormalised counters of ``project`` from its rows (after bulk writes)."""
    counts = (
        select(func.count(Annotation.id)).where(Annotation.item_id == Item.id).scalar_subquery()
    )
    db.session.execute(
        update(Item).where(Item.project_id == project.id).values(n_annotations=counts)
    )
    k = project.annotations_per_item
    db.session.execute(
        update(Item)
        .where(Item.project_id == project.id)
        .values(
            queue_tier=case(
                (Item.n_annotations >= k + Item.extra_annotations, TIER_DONE),
                (Item.n_annotations > 0, TIER_STARTED),
                else_=TIER_FRESH,
            )
        )
    )
    restore_tiers(project)  # gold keeps its own tier; linked copies never queue
    project.n_items = (
        db.session.scalar(select(func.count(Item.id)).where(Item.project_id == project.id)) or 0
    )
    project.n_linked = (
        db.session.scalar(
            select(func.count(Item.id)).where(
                Item.project_id == project.id, Item.duplicate_of.is_not(None)
            )
        )
        or 0
    )
    project.filled_slots = (
        db.session.scalar(
            select(
                func.coalesce(
                    func.sum(case((Item.n_annotations > k, k), else_=Item.n_annotations)), 0
                )
            ).where(Item.project_id == project.id)
        )
        or 0
    )
    db.session.flush()


def set_member(project: Project, user: User, role: str | None) -> None:
    """Add ``user`` to ``project`` with ``role``, change the role, or remove with None."""
    member = db.session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.project_id == project.id)
    )
    if role is None:
        if member is not None:
            db.session.delete(member)
        return
    if role not in PROJECT_ROLES:
        raise ServiceError(f"unknown project role {role!r}")
    if member is None:
        db.session.add(Membership(user_id=user.id, project_id=project.id, role=role))
    else:
        member.role = role


def get_project(project_id: int) -> Project:
    project = db.session.get(Project, project_id)
    if project is None:
        raise NotFound(f"project {project_id} not found")
    return project


#: A username or slug: ASCII letters and digits and . @ + - _ (1-80). ASCII, because
#: Unicode letters let "аdmin" (a Cyrillic а) pass for "admin"; and the API documents
#: this pattern, which JSON Schema (ECMA) reads as ASCII, so server and document agree.
SLUG_PATTERN = r"^[A-Za-z0-9_.@+-]{1,80}$"


def slug_ok(value: str) -> bool:
    """Whether ``value`` is a whole :data:`SLUG_PATTERN` (no trailing newline either)."""
    return isinstance(value, str) and re.fullmatch(SLUG_PATTERN, value) is not None


def restore_tiers(project: Project) -> None:
    """After a recount: gold items back in their tier, linked copies out of the queue."""
    restore_gold_tier(project)
    db.session.execute(
        update(Item)
        .where(Item.project_id == project.id, Item.duplicate_of.is_not(None))
        .values(queue_tier=TIER_DONE)
    )
