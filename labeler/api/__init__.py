"""The JSON API under /api/v1 (routes in one module per resource, the blueprint in
:mod:`labeler.api.blueprint`): bearer tokens for scripts, the session for the web form.

Errors are ``{"error": short, "detail": ...}`` with 401 (no or bad token), 403
(wrong role), 404, 409 (conflict) or 422 (bad input).
"""

from __future__ import annotations

from flask import Flask

from labeler.api.blueprint import SPEC, OpenApi, bp


def init_app(app: Flask) -> None:
    from labeler.api import (  # noqa: F401  (routes register)
        admin_api,  # noqa: F401
        browse,  # noqa: F401  (item browser, records, comments, bulk actions)
        export,
        formats,  # noqa: F401  (Label Studio, Prodigy)
        items,
        label_quality,  # noqa: F401  (confident-learning label issues)
        models,  # noqa: F401
        predict,  # noqa: F401  (serving, rollout, monitoring)
        preferences,  # noqa: F401  (pairwise: ranking, order effects, preference pairs)
        projects,
        quality,  # noqa: F401  (data quality, gold, label set)
        review,
        webhooks,  # noqa: F401
    )
    from labeler.config import VERSION

    app.config.setdefault("API_TITLE", "labeler")
    app.config.setdefault("API_VERSION", VERSION)
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    openapi = OpenApi(app, spec_kwargs=SPEC)
    openapi.register_blueprint(bp)
    openapi.describe_bare_routes()
    openapi.state_schema_rules()
    app.extensions["labeler.openapi"] = openapi
