"""Response headers that keep pages safe: a strict CSP with no inline script."""

from __future__ import annotations

from flask import Flask, Response


def init_app(app: Flask) -> None:
    img_extra = app.config.get("IMG_SRC_EXTRA", "")
    policy = (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data: {img_extra}".rstrip()
        + "; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response
