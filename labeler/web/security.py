"""Response headers that keep pages safe: a strict CSP with no inline script, and no
shared cache ever keeping what a signed-in user was shown. Trusted proxy headers."""

from __future__ import annotations

from flask import Flask, Response, g, request
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix


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
        if _authenticated():
            _keep_private(response)
        return response

    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:  # only as many hops as the operator says: a client can forge the rest
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )


def _authenticated() -> bool:
    if getattr(g, "api_user", None) is not None or "Authorization" in request.headers:
        return True
    return bool(getattr(current_user, "is_authenticated", False))


def _keep_private(response: Response) -> None:
    """What a signed-in user sees (pages, JSON, item pictures) is for their browser only:
    a picture may be kept there a while (``private``), anything else not at all."""
    cache = response.cache_control
    if cache.max_age and response.status_code == 200 and response.mimetype.startswith("image/"):
        cache.public = False
        cache.private = True
        return
    cache.public = False
    cache.max_age = None
    cache.no_store = True
    response.headers["Pragma"] = "no-cache"
