"""Configuration: defaults, then ``instance/config.py``, then ``LABELER_*`` variables.

Later sources win, so an operator can override any default from the environment
without touching files (``LABELER_DATABASE_URL=postgresql+psycopg://...``).
"""

from __future__ import annotations

import json
import os
from typing import Any

VERSION = "0.1.0"  # labeler's release; pyproject.toml says the same (a test checks)

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": None,
    "DATABASE_URL": None,  # default: sqlite file in the instance folder
    "MEDIA_FOLDER": None,  # default: <instance>/media
    "ARTIFACT_FOLDER": None,  # default: <instance>/artifacts
    "UPLOAD_FOLDER": None,  # default: <instance>/uploads
    "LEASE_SECONDS": 600,
    "IMPORT_MAX_BYTES": 512 * 1024 * 1024,
    "IMPORT_CHUNK_ROWS": 5000,
    "MAX_CONTENT_LENGTH": 512 * 1024 * 1024,
    "JOB_EXECUTOR": "thread",
    "JOB_STALE_SECONDS": 3600,
    "REDIS_URL": None,  # redis://host:6379/0 for LABELER_JOB_EXECUTOR=rq
    "DEMO": False,
    # Behind a TLS proxy: LABELER_SESSION_COOKIE_SECURE=true (cookies only over HTTPS),
    # LABELER_PREFERRED_URL_SCHEME=https, and LABELER_TRUSTED_PROXIES=<hops> to read the
    # client's address, scheme and host from that many X-Forwarded-* hops (0: none).
    "SESSION_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_SECURE": False,
    "PREFERRED_URL_SCHEME": "http",
    "TRUSTED_PROXIES": 0,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,
    "API_PAGE_SIZE_MAX": 500,
    "IMG_SRC_EXTRA": "",
    # Serving and monitoring: share of predicted rows logged (0..1), the most rows a
    # second one process logs (more traffic is sampled down to it; 0: no limit), how
    # often the log is written (seconds; 0: within the request), days and rows it keeps,
    # the largest /predict batch, the macro-F1 margin for automatic promotion, and how
    # often prediction traffic starts a monitor job (seconds; 0: never).
    "PREDICTION_LOG_RATE": 1.0,
    "PREDICTION_LOG_MAX_ROWS_PER_SECOND": 2000,
    "PREDICTION_LOG_FLUSH_SECONDS": 1.0,
    "PREDICTION_LOG_DAYS": 30,
    "PREDICTION_LOG_MAX_ROWS": 2_000_000,  # per project; the oldest go first
    "PREDICT_BATCH_MAX": 5000,
    "PROMOTION_MARGIN": 0.0,  # a new version serves when at least this much better
    "MONITOR_INTERVAL_SECONDS": 300,
    # Webhooks: seconds a receiver may take, the first retry's wait (doubled each time, up
    # to the maximum), how long one delivery job waits for retries that fall due, and
    # after how long of failing a URL is disabled.
    "WEBHOOK_TIMEOUT_SECONDS": 10,
    "WEBHOOK_BACKOFF_SECONDS": 1.0,
    "WEBHOOK_BACKOFF_MAX_SECONDS": 3600,
    "WEBHOOK_JOB_SECONDS": 30,
    "WEBHOOK_DISABLE_AFTER_SECONDS": 86_400,
    # How often the job worker looks for webhook retries that fell due (0: never; then
    # run `labeler retry-webhooks` from cron).
    "WEBHOOK_RETRY_CHECK_SECONDS": 15,
    # The niceness (0-19) `labeler serve` starts its job worker with: on a busy machine
    # the scheduler serves requests first and training uses the CPU they leave.
    "JOB_WORKER_NICE": 10,
}

# Keys whose environment value is parsed as JSON (numbers, booleans).
_TYPED = {key for key, value in DEFAULTS.items() if isinstance(value, bool | int)}


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Read ``LABELER_<KEY>`` variables for every known key (and SQLALCHEMY extras)."""
    environ = dict(os.environ if environ is None else environ)
    found: dict[str, Any] = {}
    for key in DEFAULTS:
        raw = environ.get(f"LABELER_{key}")
        if raw is None:
            continue
        if key in _TYPED:
            try:
                found[key] = json.loads(raw.lower() if raw.lower() in ("true", "false") else raw)
            except json.JSONDecodeError as exc:
                raise RuntimeError(f"LABELER_{key}={raw!r} is not a valid value") from exc
        else:
            found[key] = raw
    return found
