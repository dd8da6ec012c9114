"""``Client``: labeler's HTTP API as Python methods returning dicts and DataFrames.

Frames follow one contract: annotations are a long frame with columns ``item``
(the item's external id), ``annotator`` and ``label``, the shape
``labeler.core.agreement`` and crowd-kit read.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd

from labeler.client.chunks import chunk_file, chunk_records, progress_bar
from labeler.client.http import LabelerError, Transport

ItemRows: TypeAlias = pd.DataFrame | Iterable[Mapping[str, Any]]


class Client:
    """One user's view of a labeler server.

    Args:
        url: the server, e.g. ``"http://127.0.0.1:5000"``.
        token: a bearer token (the *API tokens* page or ``labeler token USERNAME``).
        retries: how often a 429/502/503/504 or a refused connection is retried.
        progress: draw a tqdm bar for imports when tqdm is installed.
    """

    def __init__(
        self, url: str, token: str, retries: int = 5, timeout: float = 300.0, progress: bool = True
    ) -> None:
        self.http = Transport(url, token, retries=retries, timeout=timeout)
        self.progress = progress

    # --- projects ------------------------------------------------------------------

    def projects(self) -> pd.DataFrame:
        """The projects this token may see, one row each, with your role."""
        return pd.DataFrame(self.http.json("GET", "/projects")["projects"])

    def project(self, project_id: int) -> dict[str, Any]:
        """One project: labels, guidelines, k, coverage (0..1 of the k-labels goal)."""
        return self.http.json("GET", f"/projects/{project_id}")

    def create_project(
        self,
        name: str,
        labels: Iterable[str | Mapping[str, Any]] = (),
        guidelines: str = "",
        annotations_per_item: int = 1,
        test_fraction: float = 0.2,
        task_kind: str = "single_label",
        task_settings: Mapping[str, Any] | None = None,
        label_scale: str | None = None,
    ) -> dict[str, Any]:
        """Create a project (admin). ``labels``: names, or dicts with ``name``,
        ``hotkey`` and ``description`` (a pairwise project needs none). ``task_kind``
        (fixed at creation): single_label, multi_label, rating, spans or pairwise, with
        the kind's ``task_settings``; ``label_scale``: nominal, ordinal or interval.
        Returns the project, with its ``id``."""
        body: dict[str, Any] = {
            "name": name,
            "labels": [{"name": x} if isinstance(x, str) else dict(x) for x in labels],
            "guidelines": guidelines,
            "annotations_per_item": annotations_per_item,
            "test_fraction": test_fraction,
            "task_kind": task_kind,
        }
        if task_settings:
            body["task_settings"] = dict(task_settings)
        if label_scale is not None:
            body["label_scale"] = label_scale
        return self.http.json("POST", "/projects", json=body)

    def configure(self, project_id: int, **settings: Any) -> dict[str, Any]:
        """Change settings (admin): ``annotations_per_item``, ``consensus_method``,
        ``dispute_threshold``, ``sampling_strategy``, ``retrain_every``, ``estimator``,
        ``estimator_params``, ``random_share``, ``min_labels_per_class``."""
        return self.http.json("PATCH", f"/projects/{project_id}", json=settings)

    # --- importing -----------------------------------------------------------------

    def import_items(
        self,
        project_id: int,
        data: ItemRows | str | Path,
        mapping: Mapping[str, Any],
        chunk_size: int = 1000,
    ) -> dict[str, int]:
        """Import a DataFrame, a list of dicts, or a CSV/JSONL file, ``chunk_size`` rows a
        request; returns the summed counts (``added``, ``updated``, ``annotations_added``…).

        ``mapping`` names the columns: ``{"id": "id", "text": ["text"], "label": "label",
        "annotator": "who"}`` (see the import page). Each chunk is one transaction, and
        importing the same rows again adds nothing twice, so after an error fix the
        named line and import the whole file again."""
        if isinstance(data, str | Path):
            return self._import_file(project_id, Path(data), dict(mapping), chunk_size)
        records = _records(data)
        totals: dict[str, int] = {}
        with progress_bar(self.progress, len(records), "import") as bar:
            for start, chunk in chunk_records(records, chunk_size):
                body = {"mapping": dict(mapping), "items": chunk}
                report = self._in_chunk(start, "POST", f"/projects/{project_id}/items", json=body)
                _add(totals, report)
                bar.update(len(chunk))
        return totals

    def import_format(
        self,
        project_id: int,
        path: str | Path,
        format: str,
        annotators: Mapping[str, str] | None = None,
        add_annotators: bool = False,
    ) -> dict[str, Any]:
        """Import a Label Studio JSON export (``format="label-studio"``) or Prodigy/spaCy
        JSONL (``"prodigy"``) as one transaction; ``annotators`` maps the file's user
        ids, emails or ``_annotator_id`` to labeler names, and ``add_annotators`` makes
        those who are not members yet members. Returns the import report."""
        with Path(path).open("rb") as handle:
            return self.http.json(
                "POST",
                f"/projects/{project_id}/formats/{format}",
                files={"file": (Path(path).name, handle)},
                data={
                    "annotators": json.dumps(dict(annotators or {})),
                    "add_annotators": "true" if add_annotators else "false",
                },
            )

    def export_format(self, project_id: int, format: str, path: str | Path) -> Path:
        """Write every item and label as Label Studio JSON or Prodigy JSONL to ``path``."""
        response = self.http.request("GET", f"/projects/{project_id}/formats/{format}", stream=True)
        target = Path(path)
        with target.open("wb") as out:
            for block in response.iter_content(1 << 16):
                out.write(block)
        return target

    def _import_file(
        self, project_id: int, path: Path, mapping: dict[str, Any], chunk_size: int
    ) -> dict[str, int]:
        fmt = "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv"
        totals: dict[str, int] = {}
        total = path.stat().st_size
        with progress_bar(self.progress, total, "import", unit="B") as bar:
            done = 0
            for start, payload, size in chunk_file(path, fmt, chunk_size):
                report = self._in_chunk(
                    start,
                    "POST",
                    f"/projects/{project_id}/items",
                    files={"file": (path.name, io.BytesIO(payload))},
                    data={"mapping": json.dumps(mapping), "format": fmt},
                )
                _add(totals, report)
                bar.update(size)
                done += size
            # the header, a byte-order mark and re-quoting are not in the chunks' sizes
            bar.update(max(total - done, 0))
        return totals

    def _in_chunk(self, start: int, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return self.http.json(method, path, **kwargs)
        except LabelerError as exc:
            # the server counts lines from the chunk's start; say where the chunk starts
            exc.args = (f"{exc.args[0]} [in the chunk starting at record {start}]",)
            raise

    # --- reading ---------------------------------------------------------------------

    def items(self, project_id: int, split: str | None = None) -> pd.DataFrame:
        """Every item: ``id``, ``external_id``, ``split``, ``n_annotations`` and one column
        per data field (reviewer or admin)."""
        rows = [
            {k: v for k, v in item.items() if k != "data"} | dict(item["data"])
            for item in self._item_pages(project_id, split)
        ]
        return pd.DataFrame(rows)

    def _item_pages(self, project_id: int, split: str | None) -> Iterator[dict[str, Any]]:
        after = 0
        while True:
            params: dict[str, Any] = {"after": after, "limit": 500}
            if split:
                params["split"] = split
            page = self.http.json("GET", f"/projects/{project_id}/items", params=params)
            yield from page["items"]
            if page["next_after"] is None:
                return
            after = page["next_after"]

    def annotations(self, project_id: int, **filters: Any) -> pd.DataFrame:
        """Every annotation as a long frame ``item, annotator, label`` (plus
        ``created_at``, ``updated_at``, ``seconds``); ``item`` is the external id.
        Filters are the export's (``split="test"``, ``pseudonymize=True``, …)."""
        rows = self._export_rows(project_id, "annotations", filters)
        frame = pd.DataFrame(rows, columns=_ANNOTATION_COLUMNS if not rows else None)
        return frame.rename(columns={"external_id": "item"})

    def consensus(self, project_id: int, **filters: Any) -> pd.DataFrame:
        """One row per item: ``item``, ``final_label`` (None until decided),
        ``decided_by`` (consensus | adjudicated), ``confidence`` 0..1, ``n_annotations``."""
        frame = pd.DataFrame(self._export_rows(project_id, "items", filters))
        return frame.rename(columns={"external_id": "item"})

    def agreement(self, project_id: int) -> dict[str, Any]:
        """The agreement page's figures (Krippendorff's alpha with its interval, kappas,
        per-annotator and per-label tables) as a dict (reviewer or admin)."""
        return self.http.json("GET", f"/projects/{project_id}/agreement")

    def agreement_by_annotator(self, project_id: int) -> pd.DataFrame:
        """One row per annotator: labels given, leave-one-out agreement, Dawid-Skene
        accuracy (0..1), median seconds; empty while nobody shares items."""
        figures = self.agreement(project_id).get("figures") or {}
        return pd.DataFrame(figures.get("annotators") or [])

    def agreement_by_label(self, project_id: int) -> pd.DataFrame:
        """One row per label: how often annotators agree when one of them chose it."""
        figures = self.agreement(project_id).get("figures") or {}
        return pd.DataFrame(figures.get("per_label") or [])

    def model_versions(self, project_id: int) -> pd.DataFrame:
        """One row per model version, oldest first: status, n_labels, test accuracy,
        macro F1, log loss and the baselines."""
        return pd.DataFrame(self.http.json("GET", f"/projects/{project_id}/models")["models"])

    def metrics(self, project_id: int, version_id: int) -> pd.DataFrame:
        """Per-class precision, recall, F1 and support of one version on the test split."""
        version = self.http.json("GET", f"/projects/{project_id}/models/{version_id}")
        per_class = (version.get("metrics") or {}).get("per_class") or {}
        return pd.DataFrame.from_dict(per_class, orient="index").rename_axis("label")

    def model(self, project_id: int, version_id: int) -> dict[str, Any]:
        """One version with all its metrics (confusion matrix, errors, human level)."""
        return self.http.json("GET", f"/projects/{project_id}/models/{version_id}")

    # --- labeling --------------------------------------------------------------------

    def next_items(self, project_id: int) -> list[dict[str, Any]]:
        """The items the queue hands this token's user now (leased to them)."""
        items: list[dict[str, Any]] = self.http.json("GET", f"/projects/{project_id}/next")["items"]
        return items

    def annotate(
        self,
        project_id: int,
        item_id: int,
        label: Any,
        seconds: float | None = None,
        next_items: int = 0,
    ) -> dict[str, Any]:
        """Answer one item as this token's user; ``outcome`` is created/changed/unchanged.

        ``label`` is the answer in the project's task kind: a label name (single_label),
        a list of names (multi_label), a number on the scale (rating), a list of
        ``{"start", "end", "label"}`` (spans) or ``{"choice": "A"}`` (pairwise).
        ``next_items`` (1-5) also leases the next items in the same request: they come
        back under ``next`` (``{"items": [...], "progress": ...}``), as :meth:`next_items`
        would give them, so a labeling loop needs one request per item."""
        body: dict[str, Any] = {"seconds": seconds}
        body["label" if isinstance(label, str) else "value"] = label
        if next_items:
            body["next"] = next_items
        return self.http.json(
            "POST", f"/projects/{project_id}/items/{item_id}/annotation", json=body
        )

    # --- webhooks --------------------------------------------------------------------

    def webhooks(self, project_id: int) -> pd.DataFrame:
        """The project's webhooks (admin): id, url, events, active, disabled_reason."""
        return pd.DataFrame(self.http.json("GET", f"/projects/{project_id}/webhooks")["webhooks"])

    def add_webhook(self, project_id: int, url: str, events: Iterable[str]) -> dict[str, Any]:
        """Register ``url`` for ``events`` (admin): item.final_label, item.disputed,
        model.trained, model.promoted, model.rolled_back, drift.alert, export.finished.
        The answer holds the ``secret`` that signs the deliveries (shown this once)."""
        body = {"url": url, "events": list(events)}
        return self.http.json("POST", f"/projects/{project_id}/webhooks", json=body)

    def send_test_event(self, project_id: int, webhook_id: int) -> dict[str, Any]:
        """Queue a ``test`` event to one webhook; :meth:`webhook_deliveries` shows how
        it went."""
        return self.http.json("POST", f"/projects/{project_id}/webhooks/{webhook_id}/test")

    def webhook_deliveries(self, project_id: int, webhook_id: int) -> pd.DataFrame:
        """The latest deliveries to one webhook, newest first: event, status, HTTP
        code, latency, attempts, error."""
        path = f"/projects/{project_id}/webhooks/{webhook_id}/deliveries"
        return pd.DataFrame(self.http.json("GET", path)["deliveries"])

    # --- models ----------------------------------------------------------------------

    def train(self, project_id: int, wait: bool = True, timeout: float = 3600.0) -> dict[str, Any]:
        """Start a training job; with ``wait``, return it once done or failed."""
        job = self.http.json("POST", f"/projects/{project_id}/train")
        return self.wait_for_job(job["id"], timeout) if wait else job

    def wait_for_job(self, job_id: int, timeout: float = 3600.0) -> dict[str, Any]:
        """Poll a job until it is done or failed; :class:`TimeoutError` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.http.json("GET", f"/jobs/{job_id}")
            if job["status"] in ("done", "failed"):
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is still {job['status']} after {timeout} s")
            time.sleep(0.2)

    def predict(self, project_id: int, items: ItemRows) -> pd.DataFrame:
        """Predictions for a batch of items (their fields, as imported): ``label``,
        ``confidence`` 0..1, ``probabilities`` and the ``model_version_id`` that answered."""
        body = {"items": _records(items)}
        return pd.DataFrame(
            self.http.json("POST", f"/projects/{project_id}/predict", json=body)["predictions"]
        )

    def promote(self, project_id: int, version_id: int, reason: str = "") -> dict[str, Any]:
        """Make a version the champion (admin); ``reason`` goes to the audit trail."""
        return self._rollout(project_id, version_id, "promote", reason)

    def rollback(self, project_id: int, version_id: int, reason: str = "") -> dict[str, Any]:
        """Roll back from a version to the previous champion (admin)."""
        return self._rollout(project_id, version_id, "rollback", reason)

    def _rollout(
        self, project_id: int, version_id: int, action: str, reason: str
    ) -> dict[str, Any]:
        path = f"/projects/{project_id}/models/{version_id}/{action}"
        return self.http.json("POST", path, json={"reason": reason})

    # --- export ----------------------------------------------------------------------

    def export(
        self,
        project_id: int,
        path: str | Path | None = None,
        view: str = "items",
        format: str = "csv",
        **filters: Any,
    ) -> bytes | Path:
        """Download an export (``view`` items | annotations; ``format`` csv | jsonl |
        parquet; the export page's filters). Written to ``path`` if given, else returned."""
        params = {"view": view, "format": format, **_flags(filters)}
        response = self.http.request(
            "GET", f"/projects/{project_id}/export", params=params, stream=path is not None
        )
        if path is None:
            return response.content
        target = Path(path)
        with target.open("wb") as out:
            for block in response.iter_content(1 << 16):
                out.write(block)
        return target

    def _export_rows(
        self, project_id: int, view: str, filters: dict[str, Any]
    ) -> list[dict[str, Any]]:
        text = self.export(project_id, view=view, format="jsonl", **filters)
        assert isinstance(text, bytes)
        # split on newlines only: str.splitlines also breaks at U+2028 inside texts
        return [json.loads(line) for line in text.decode().split("\n") if line.strip()]


_ANNOTATION_COLUMNS = ["external_id", "annotator", "label", "created_at", "updated_at", "seconds"]


def _records(data: ItemRows) -> list[dict[str, Any]]:
    if isinstance(data, pd.DataFrame):
        # to_json turns NaN into null and numpy scalars into JSON numbers
        records: list[dict[str, Any]] = json.loads(
            data.to_json(orient="records", date_format="iso")
        )
        return records
    return [dict(row) for row in data]


def _flags(filters: dict[str, Any]) -> dict[str, Any]:
    return {k: ("true" if v else "false") if isinstance(v, bool) else v for k, v in filters.items()}


def _add(totals: dict[str, int], report: Mapping[str, Any]) -> None:
    for key, value in report.items():
        if isinstance(value, int) and not isinstance(value, bool):
            totals[key] = totals.get(key, 0) + value
