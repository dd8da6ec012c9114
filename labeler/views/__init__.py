"""Web pages, one blueprint per area. Handlers are thin: parse, authorize, call, commit."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from markdown_it import MarkdownIt
from markupsafe import Markup

# Raw HTML in guidelines is escaped and javascript: links are refused by
# markdown-it's link validator, so guidelines cannot inject script.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render_markdown(text: str | None) -> Markup:
    return Markup(_markdown.render(text or ""))  # noqa: S704 - html=False above


def init_app(app: Flask) -> None:
    from labeler.views import (
        admin,
        agreement,
        annotate,
        apidocs,
        auth_views,
        export,
        importing,
        items,
        projects,
        ranking,
        review,
    )
    from labeler.views import models as model_pages

    app.jinja_env.filters["markdown"] = render_markdown
    for module in (
        auth_views,
        projects,
        annotate,
        admin,
        importing,
        export,
        apidocs,
        review,
        agreement,
        items,
        ranking,
    ):
        app.register_blueprint(module.bp)
    app.register_blueprint(model_pages.bp)
    app.register_blueprint(__import__("labeler.views.quality", fromlist=["bp"]).bp)
    app.register_blueprint(__import__("labeler.views.monitoring", fromlist=["bp"]).bp)
    app.register_blueprint(__import__("labeler.views.webhooks", fromlist=["bp"]).bp)

    for code, title in (
        (400, "Bad request"),
        (403, "Not allowed"),
        (404, "Not found"),
        (405, "Method not allowed"),
        (413, "File too large"),
    ):
        app.register_error_handler(code, _error_page(code, title))


def _error_page(code: int, title: str):
    """An HTML page, or labeler's JSON error for paths under /api/ (URLs no route matched
    never reach the API blueprint's own handlers)."""

    def handler(error: Exception):
        description = getattr(error, "description", "")
        allowed = getattr(error, "valid_methods", None)
        headers = {"Allow": ", ".join(sorted(allowed))} if allowed else {}
        if request.path.startswith("/api/"):
            return jsonify({"error": title.lower(), "detail": description}), code, headers
        return (
            render_template("error.html", code=code, title=title, description=description),
            code,
            headers,
        )

    return handler
