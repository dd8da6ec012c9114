"""Benchmark: the monitoring figures (page and API) against the size of the prediction log.

Run from the repository root:

    python benchmarks/bench_monitoring.py            # 10k, 100k and 1M log rows in 24 h
    python benchmarks/bench_monitoring.py --small    # 10k and 100k

A busy process logs up to 2,000 rows a second (the default sampling budget), so a
day's window can hold millions of rows. The page reads at most 50,000 of them (a
systematic sample beyond, each row standing for k). Printed: the time of
``GET /api/v1/projects/<id>/monitoring`` (best and median of 5) per log size, and,
as the bare baseline, one ``SELECT`` of the same rows straight into pandas with
``pandas.read_sql``. Prints figures; never asserts a time.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import fresh_app  # noqa: E402
from benchmarks.bench_predict import DATA, _setup  # noqa: E402
from labeler.extensions import db  # noqa: E402
from labeler.models import Project, utcnow  # noqa: E402


def _fill(path: Path, project_id: int, version_id: int, rows: int) -> None:
    """Log rows spread over the last 24 hours: batches of 50, latency on each first row."""
    now = utcnow()
    random.seed(0)

    def generate():
        for i in range(rows):
            stamp = now - timedelta(seconds=random.random() * 86_000)
            yield (
                project_id,
                version_id,
                random.random() * 10 if i % 50 == 0 else None,
                random.choice(("ham", "spam")),
                random.random(),
                1.0,
                stamp.strftime("%Y-%m-%d %H:%M:%S.%f"),
            )

    connection = sqlite3.connect(path)
    connection.executemany(
        "INSERT INTO prediction_log (project_id, model_version_id, latency_ms, "
        "predicted_label, confidence, weight, created_at) VALUES (?,?,?,?,?,?,?)",
        generate(),
    )
    connection.commit()
    connection.close()


def run(rows: int) -> tuple[float, float, float]:
    sms = pd.read_csv(DATA / "sms-spam.csv", usecols=["spam", "text"])
    sms["label"] = sms["spam"].map({0: "ham", 1: "spam"})
    app, folder = fresh_app()
    app.config["MONITOR_INTERVAL_SECONDS"] = 0
    project_id, token, _ = _setup(app, sms.iloc[:3000])
    with app.app_context():
        version_id = db.session.get(Project, project_id).champion_id
        db.engine.dispose()
    _fill(folder / "labeler.sqlite", project_id, version_id, rows)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        response = client.get(f"/api/v1/projects/{project_id}/monitoring", headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and response.json["n_logged"] == rows
    connection = sqlite3.connect(folder / "labeler.sqlite")
    started = time.perf_counter()
    pd.read_sql(
        "SELECT created_at, model_version_id, latency_ms, predicted_label, confidence, weight "
        "FROM prediction_log WHERE project_id = ? ORDER BY created_at",
        connection,
        params=(project_id,),
    )
    bare = (time.perf_counter() - started) * 1000
    connection.close()
    return min(samples), statistics.median(samples), bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    sizes = [10_000, 100_000] + ([] if args.small else [1_000_000])
    print(f"{'log rows':>10} {'API best ms':>12} {'median ms':>10} {'read_sql ms':>12}")
    for size in sizes:
        best, median, bare = run(size)
        print(f"{size:>10,} {best:>12.0f} {median:>10.0f} {bare:>12.0f}", flush=True)
    print("read_sql: every row of the window into pandas, nothing computed (the bare read)")


if __name__ == "__main__":
    main()
