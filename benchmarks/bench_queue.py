"""Next-item + submit latency at pool sizes 10k, 100k and 1M items (SQLite, one process).

Each operation is what the form does per item: lease the next item (one indexed query
plus the lease insert, in an IMMEDIATE transaction), then submit a label and commit.
Goal: p95 under 20 ms at 1M items, and p95(1M) <= 1.5 x p95(10k).

    python benchmarks/bench_queue.py            # 10k, 100k, 1M
    python benchmarks/bench_queue.py --small    # 10k, 100k
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import fresh_app, percentiles  # noqa: E402
from labeler.db_engine import begin_write  # noqa: E402
from labeler.extensions import db  # noqa: E402
from labeler.models import Project, User  # noqa: E402
from labeler.services.data.import_writer import unit_hash
from labeler.services.labeling import queue  # noqa: E402
from labeler.services.projects.store import create_project, set_member  # noqa: E402

N_USERS = 20


def populate(path: Path, project_id: int, n_items: int) -> None:
    """Bulk-insert items straight into SQLite: the benchmark times the queue, not the import."""
    connection = sqlite3.connect(path)
    rows = (
        (
            project_id,
            f"item-{i}",
            json.dumps({"text": f"text number {i}"}),
            "test" if unit_hash(0, "split", f"item-{i}") < 0.2 else "train",
            0,
            0,
            2,
            unit_hash(0, "rank", f"item-{i}"),
            "2026-01-01 00:00:00",
        )
        for i in range(n_items)
    )
    connection.executemany(
        "INSERT INTO item (project_id, external_id, data, split, n_annotations, "
        "extra_annotations, queue_tier, queue_rank, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
        rows,
    )
    connection.execute("UPDATE project SET n_items = ? WHERE id = ?", (n_items, project_id))
    connection.commit()
    connection.close()


def run(n_items: int, operations: int) -> tuple[float, float]:
    app, folder = fresh_app()
    with app.app_context():
        project = create_project("Bench", [{"name": "a"}, {"name": "b"}], annotations_per_item=2)
        users = [User(username=f"u{i}", role="annotator") for i in range(N_USERS)]
        db.session.add_all(users)
        db.session.flush()
        for user in users:
            set_member(project, user, "annotator")
        db.session.commit()
        project_id, user_ids = project.id, [u.id for u in users]
        db.engine.dispose()
    populate(folder / "labeler.sqlite", project_id, n_items)
    samples = []
    with app.app_context():
        for op in range(operations + 50):
            start = time.perf_counter()
            begin_write()
            project = db.session.get(Project, project_id)
            user = db.session.get(User, user_ids[op % N_USERS])
            item = queue.next_items(project, user)[0]
            queue.submit(project, user, item, "a", 2.0)
            db.session.commit()
            if op >= 50:  # warm-up excluded
                samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--operations", type=int, default=1000)
    args = parser.parse_args()
    sizes = [10_000, 100_000] + ([] if args.small else [1_000_000])
    results = {}
    header = f"{'items':>10} {'p50 ms':>8} {'p95 ms':>8}"
    print(f"{header}   (next item + submit, {args.operations} ops)")
    for size in sizes:
        results[size] = run(size, args.operations)
        print(f"{size:>10,} {results[size][0]:>8.2f} {results[size][1]:>8.2f}", flush=True)
    largest = sizes[-1]
    ratio = results[largest][1] / results[10_000][1]
    print(
        f"p95 at {largest:,} / p95 at 10,000 = {ratio:.2f} (goal <= 1.5); "
        f"p95 at {largest:,} = {results[largest][1]:.2f} ms (goal < 20 ms)"
    )


if __name__ == "__main__":
    main()
