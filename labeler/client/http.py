"""The client's transport: one ``requests`` session, retries, errors with the server's words.

Kept apart from :mod:`labeler.client.client` so the method list there reads as the API.
"""

from __future__ import annotations

import datetime
import email.utils
import time
from typing import Any

import requests

# A busy or restarting server answers these; the request changed nothing, so it is resent.
RETRY_STATUS = frozenset({429, 502, 503, 504})


class LabelerError(Exception):
    """The server refused a request: ``status`` (401, 403, 404, 409, 422, 5xx), and the
    server's ``error`` and ``detail`` (the field, or the line and column of an import)."""

    def __init__(self, status: int, method: str, path: str, error: str, detail: Any) -> None:
        message = f"{method} {path}: {status} {error}"
        if detail not in (None, "", {}, []):
            message += f" ({detail})"
        super().__init__(message)
        self.status, self.error, self.detail = status, error, detail


class Transport:
    """Sends requests to ``{url}/api/v1`` with a bearer token.

    Connection errors and 429/502/503/504 are retried ``retries`` times: after the
    server's ``Retry-After`` seconds when it sends one (capped at ``max_wait``), else
    after ``backoff * 2**attempt`` seconds."""

    def __init__(
        self,
        url: str,
        token: str,
        retries: int = 5,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        timeout: float = 300.0,
    ) -> None:
        self.base = url.rstrip("/") + "/api/v1"
        self.retries, self.backoff, self.max_wait, self.timeout = (
            retries,
            backoff,
            max_wait,
            timeout,
        )
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.headers["User-Agent"] = "labeler-client"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """The response to ``method path``; :class:`LabelerError` for an error status."""
        kwargs.setdefault("timeout", self.timeout)
        response: requests.Response | None = None
        for attempt in range(self.retries + 1):
            try:
                response = self.session.request(method, self.base + path, **kwargs)
            except requests.ConnectionError:
                if attempt == self.retries:
                    raise
            else:
                if response.status_code not in RETRY_STATUS or attempt == self.retries:
                    break
            time.sleep(self._wait(response, attempt))
            _rewind_files(kwargs)
        assert response is not None
        if response.status_code >= 400:
            raise _error(response, method, path)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """The response's JSON object (every API route answers one)."""
        response = self.request(method, path, **kwargs)
        body = response.json()
        if not isinstance(body, dict):
            raise LabelerError(response.status_code, method, path, "not a JSON object", body)
        return body

    def _wait(self, response: requests.Response | None, attempt: int) -> float:
        header = response.headers.get("Retry-After") if response is not None else None
        asked = retry_after(header) if header else None
        if asked is not None:
            return min(asked, self.max_wait)
        return min(self.backoff * 2.0**attempt, self.max_wait)


def retry_after(header: str, now: float | None = None) -> float | None:
    """The seconds a ``Retry-After`` header asks for: a number of seconds, or an HTTP
    date (seconds until then, 0 for a date past); None for anything else."""
    text = header.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT
        when = when.replace(tzinfo=datetime.UTC)
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def _rewind_files(kwargs: dict[str, Any]) -> None:
    """A retried upload sends the file again from its start."""
    for value in (kwargs.get("files") or {}).values():
        handle = value[1] if isinstance(value, tuple) else value
        if hasattr(handle, "seek"):
            handle.seek(0)


def _error(response: requests.Response, method: str, path: str) -> LabelerError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "error" in body:
        return LabelerError(response.status_code, method, path, body["error"], body.get("detail"))
    return LabelerError(response.status_code, method, path, response.reason, response.text[:300])
