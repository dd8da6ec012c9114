"""A small client of labeler's HTTP API (``/api/v1``) with retries.

Transient failures (connection errors, 429, 502-504, and "database is locked"
503s of a busy SQLite server) are retried with exponential back-off; any other
error status raises :class:`ApiError` with the server's ``{"error", "detail"}``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import requests

RETRY_STATUS = {429, 502, 503, 504}


class ApiError(Exception):
    """The server answered with an error status (4xx/5xx after retries)."""

    def __init__(self, status: int, method: str, path: str, body: Any) -> None:
        error = body.get("error") if isinstance(body, dict) else body
        detail = body.get("detail") if isinstance(body, dict) else None
        super().__init__(f"{method} {path}: {status} {error}" + (f" ({detail})" if detail else ""))
        self.status, self.body = status, body


class Client:
    """One bearer token's view of the API at ``server`` (e.g. ``http://127.0.0.1:5000``)."""

    def __init__(
        self,
        server: str,
        token: str,
        retries: int = 5,
        backoff: float = 0.25,
        timeout: float = 300.0,
    ) -> None:
        self.base = server.rstrip("/") + "/api/v1"
        self.server, self.token = server, token
        self.retries, self.backoff, self.timeout = retries, backoff, timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.requests = 0

    def as_user(self, token: str) -> Client:
        """The same server with another user's token."""
        return Client(self.server, token, self.retries, self.backoff, self.timeout)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send with retries; raise :class:`ApiError` for an error status."""
        kwargs.setdefault("timeout", self.timeout)
        for attempt in range(self.retries + 1):
            self.requests += 1
            try:
                response = self.session.request(method, self.base + path, **kwargs)
            except requests.ConnectionError:
                if attempt == self.retries:
                    raise
            else:
                if response.status_code not in RETRY_STATUS or attempt == self.retries:
                    break
            time.sleep(self.backoff * 2**attempt)
        if response.status_code >= 400:
            try:
                body: Any = response.json()
            except ValueError:
                body = response.text[:300]
            raise ApiError(response.status_code, method, path, body)
        return response

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None).json()

    def post(self, path: str, body: Any = None, **params: Any) -> Any:
        return self.request(
            "POST", path, json=body if body is not None else {}, params=params or None
        ).json()

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, json=body).json()

    # --- what the simulation uses --------------------------------------------------

    def items(self, project_id: int, split: str | None = None) -> Iterator[dict[str, Any]]:
        """Every item of the project in id order (keyset pages of 500)."""
        after = 0
        while True:
            params: dict[str, Any] = {"after": after, "limit": 500}
            if split:
                params["split"] = split
            page = self.get(f"/projects/{project_id}/items", **params)
            yield from page["items"]
            if page["next_after"] is None:
                return
            after = page["next_after"]

    def export_items(self, project_id: int) -> list[dict[str, Any]]:
        """The item view of the export (final label, how it was decided, split)."""
        text = self.request(
            "GET", f"/projects/{project_id}/export", params={"view": "items", "format": "jsonl"}
        ).text
        # split on newlines only: str.splitlines also breaks at U+2028 and friends inside texts
        return [json.loads(line) for line in text.split("\n") if line.strip()]

    def wait_for_job(self, job_id: int, poll: float = 0.2, limit: float = 3600.0) -> dict[str, Any]:
        """Poll a job until it is done or failed; return its last state."""
        deadline = time.monotonic() + limit
        while True:
            time.sleep(poll)  # first wait: a job's first writes need not meet our request's
            job = self.get(f"/jobs/{job_id}")
            if job["status"] in ("done", "failed") or time.monotonic() > deadline:
                return job
