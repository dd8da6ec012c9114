"""A browsable page of the OpenAPI document, rendered on the server (works offline)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

bp = Blueprint("apidocs", __name__)


def _ref_name(schema: dict[str, Any] | None) -> str | None:
    if not schema:
        return None
    ref = schema.get("$ref") or (schema.get("items") or {}).get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else schema.get("type")


@bp.route("/api/docs")
def page():
    spec = current_app.extensions["labeler.openapi"].spec.to_dict()
    operations = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            if method == "parameters":
                continue
            body = (op.get("requestBody") or {}).get("content", {}).get("application/json", {})
            responses = []
            for status, response in op.get("responses", {}).items():
                content = (response.get("content") or {}).get("application/json", {})
                responses.append(
                    (status, response.get("description", ""), _ref_name(content.get("schema")))
                )
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": op.get("parameters", []),
                    "body": _ref_name(body.get("schema")),
                    "responses": responses,
                }
            )
    return render_template(
        "apidocs.html",
        spec=spec,
        operations=operations,
        schemas=spec.get("components", {}).get("schemas", {}),
    )
