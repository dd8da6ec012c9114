"""API: projects, their label sets, importing items."""

from __future__ import annotations

import json

from flask import current_app, g, request
from sqlalchemy import select

from labeler.api.blueprint import bp, documented
from labeler.api.common import api_project, int_arg, json_body, load_body
from labeler.api.schemas import (
    ImportBody,
    ImportReport,
    ItemsPage,
    ProjectCreate,
    ProjectList,
    integer,
    one_of,
)
from labeler.api.schemas import Project as ProjectOut
from labeler.api.serialize import project_payload
from labeler.auth import project_role, visible_projects
from labeler.core.kinds import DEFAULT_KIND
from labeler.extensions import db
from labeler.models import Item
from labeler.services import Forbidden, ServiceError
from labeler.services.data.import_spec import ColumnMapping, format_of
from labeler.services.data.imports import import_file, import_rows
from labeler.services.projects.store import create_project


@bp.get("/projects")
@documented(schema=ProjectList, errors=(401,))
def list_projects():
    """The projects you may see, with your role on each."""
    user = g.api_user
    return {"projects": [project_payload(p, project_role(user, p)) for p in visible_projects(user)]}


@bp.post("/projects")
@documented(201, ProjectOut, body=ProjectCreate, errors=(401, 403, 422))
def create():
    """Create a project (admin)."""
    if not g.api_user.is_admin:
        raise Forbidden("only an admin can create projects")
    body = load_body(ProjectCreate)
    project = create_project(
        body["name"],
        body.get("labels", []),
        guidelines=body.get("guidelines", ""),
        annotations_per_item=body.get("annotations_per_item", 1),
        test_fraction=body.get("test_fraction", 0.2),
        task_kind=body.get("task_kind", DEFAULT_KIND),
        task_settings=body.get("task_settings") or {},
        label_scale=body.get("label_scale", "nominal"),
    )
    db.session.commit()
    return project_payload(project, "admin"), 201


@bp.get("/projects/<int:project_id>")
@documented(schema=ProjectOut)
def show(project_id: int):
    """One project: label set, guidelines, k, coverage."""
    project, role = api_project(project_id)
    return project_payload(project, role)


@bp.post("/projects/<int:project_id>/items")
@documented(201, ImportReport, body=ImportBody, errors=(401, 403, 404, 422))
def import_items(project_id: int):
    """Import items: JSON ``{"mapping": {...}, "items": [{...}, ...]}`` or a multipart
    ``file`` (CSV or JSONL) with a ``mapping`` field holding the mapping as JSON."""
    project, _ = api_project(project_id, "admin")
    chunk = current_app.config["IMPORT_CHUNK_ROWS"]
    if request.files.get("file"):
        upload = request.files["file"]
        try:
            mapping = ColumnMapping.from_dict(json.loads(request.form.get("mapping") or "{}"))
        except (json.JSONDecodeError, TypeError) as exc:
            raise ServiceError(f"mapping is not valid JSON: {exc}") from None
        fmt = request.form.get("format") or format_of(upload.filename or "")
        report = import_file(project, upload.stream, fmt, mapping, chunk)
    else:
        body = json_body()
        items = body.get("items")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ServiceError("items must be a list of JSON objects", {"field": "items"})
        mapping = ColumnMapping.from_dict(body.get("mapping") or {})
        report = import_rows(project, enumerate(items, start=1), mapping, chunk)
    db.session.commit()
    return report.as_dict(), 201


@bp.get("/projects/<int:project_id>/items")
@documented(
    schema=ItemsPage,
    errors=(401, 403, 404, 422),
    params=(
        ("after", integer(0, 2**62), "last id of the previous page"),
        ("limit", integer(1, 500), "page size"),
        ("split", one_of("train", "test"), ""),
    ),
)
def list_items(project_id: int):
    """Items in id order with keyset pagination: ``?after=<last id>&limit=100&split=test``."""
    project, _ = api_project(project_id, "reviewer")
    limit = int_arg("limit", 100, 1, current_app.config["API_PAGE_SIZE_MAX"])
    after = int_arg("after", 0, 0, 2**62)
    stmt = select(Item).where(Item.project_id == project.id, Item.id > after)
    split = request.args.get("split")
    if split:
        if split not in ("train", "test"):
            raise ServiceError("split must be train or test", {"field": "split"})
        stmt = stmt.where(Item.split == split)
    rows = list(db.session.scalars(stmt.order_by(Item.id).limit(limit)))
    return {
        "items": [
            {
                "id": i.id,
                "external_id": i.external_id,
                "data": i.data,
                "split": i.split,
                "n_annotations": i.n_annotations,
            }
            for i in rows
        ],
        "next_after": rows[-1].id if len(rows) == limit else None,
    }
