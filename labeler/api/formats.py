"""API: other tools' formats in and out (Label Studio JSON, Prodigy/spaCy JSONL)."""

from __future__ import annotations

import json

from flask import Response, current_app, request, stream_with_context

from labeler.api.blueprint import bp, documented
from labeler.api.common import api_project
from labeler.api.schemas import ImportReport
from labeler.extensions import db
from labeler.services import NotFound, ServiceError
from labeler.services.data.interchange import FORMATS, export_format, import_format

FORMAT_HELP = " or ".join(FORMATS)

# The upload, as the document describes it (the handler reads request.files and form).
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "a Label Studio JSON export or Prodigy/spaCy JSONL",
                    },
                    "annotators": {
                        "type": "string",
                        "description": "a JSON object: the file's user id, email or "
                        '_annotator_id -> a labeler name, e.g. {"7": "alice"}',
                    },
                    "add_annotators": {
                        "type": "string",
                        "enum": ["true", "false"],
                        "description": "make annotators who are not members yet members",
                    },
                },
            }
        }
    },
}


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise NotFound(f"no format {fmt!r}: use {FORMAT_HELP}")
    return fmt


@bp.get("/projects/<int:project_id>/formats/<fmt>")
@documented(errors=(401, 403, 404), files=("application/json", "application/x-ndjson"))
def export_in_format(project_id: int, fmt: str):
    """Every item and label as a Label Studio JSON export or Prodigy JSONL (reviewer);
    ``fmt``: ``label-studio`` or ``prodigy``."""
    project, _ = api_project(project_id, "reviewer")
    chosen = FORMATS[_format(fmt)]
    chunks = export_format(project, fmt)
    name = f"project-{project.id}-{fmt}.{chosen.suffix}"
    return Response(
        stream_with_context(c.encode("utf-8") for c in chunks),
        mimetype=chosen.media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.post("/projects/<int:project_id>/formats/<fmt>")
@bp.doc(requestBody=UPLOAD_BODY)
@documented(201, ImportReport, errors=(401, 403, 404, 422))
def import_in_format(project_id: int, fmt: str):
    """Import a multipart ``file`` in this format (admin; ``fmt``: ``label-studio`` or
    ``prodigy``); the tasks' annotations become votes, a task's best prediction the
    item's suggestion. ``annotators``: a JSON object
    mapping the file's user ids, emails or ``_annotator_id`` to labeler names;
    ``add_annotators=true`` makes annotators who are not members yet members."""
    project, _ = api_project(project_id, "admin")
    _format(fmt)
    upload = request.files.get("file")
    if upload is None:
        raise ServiceError("send the file as multipart field 'file'", {"field": "file"})
    try:
        annotators = json.loads(request.form.get("annotators") or "{}")
    except json.JSONDecodeError as exc:
        raise ServiceError(f"annotators is not JSON: {exc}", {"field": "annotators"}) from None
    if not isinstance(annotators, dict) or not all(isinstance(v, str) for v in annotators.values()):
        raise ServiceError("annotators must map names to names", {"field": "annotators"})
    chunk = current_app.config["IMPORT_CHUNK_ROWS"]
    add = (request.form.get("add_annotators") or "false").lower()
    if add not in ("true", "false"):
        raise ServiceError("add_annotators must be true or false", {"field": "add_annotators"})
    report = import_format(
        project,
        upload.stream,
        fmt,
        {str(k): v for k, v in annotators.items()},
        chunk,
        add_annotators=add == "true",
    )
    db.session.commit()
    return report.as_dict(), 201
