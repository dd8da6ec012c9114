"""Benchmark: exporting 1,000,000 annotations to CSV: time and memory, labeler vs bare.

Run from the repository root:

    python benchmarks/bench_export.py            # 333,334 items x 3 = 1,000,002 annotations
    python benchmarks/bench_export.py --small    # 100,000 annotations

The rows are bulk-inserted with sqlite3 (the benchmark times the export, not the
queue). Then, in the same run:

1. labeler's export as the export job writes it (``write_export``: keyset-paged
   reads of 5,000 rows, spreadsheet-safe CSV cells, chunked writes);
2. the bare baseline: one ``sqlite3`` cursor over the same join, ``csv.writer``
   straight to the file.

Memory is tracemalloc's peak of Python allocations during a second, traced run of
each export (the streaming claim: it must not grow with the row count). Prints figures; never
asserts a time.
"""

from __future__ import annotations

import argparse
import csv
import random
import sqlite3
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import fresh_app  # noqa: E402
from labeler.extensions import db  # noqa: E402
from labeler.models import Project, User  # noqa: E402
from labeler.services.data.export_job import write_export  # noqa: E402
from labeler.services.projects.store import create_project  # noqa: E402

N_ANNOTATORS = 50


def _populate(path: Path, project_id: int, user_ids: list[int], n_items: int) -> None:
    random.seed(0)
    connection = sqlite3.connect(path)
    connection.executemany(
        "INSERT INTO item (id, project_id, external_id, data, split, n_annotations, "
        "extra_annotations, queue_tier, queue_rank, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            (
                i,
                project_id,
                f"item-{i}",
                f'{{"text": "text number {i}"}}',
                "train",
                3,
                0,
                0,
                random.random(),
                "2026-01-01 00:00:00",
            )
            for i in range(1, n_items + 1)
        ),
    )
    connection.executemany(
        "INSERT INTO annotation (item_id, user_id, project_id, label, seconds, created_at, "
        "updated_at, guideline_version) VALUES (?,?,?,?,?,?,?,1)",
        (
            (
                i,
                user,
                project_id,
                random.choice("abc"),
                round(random.random() * 9, 2),
                "2026-01-02 10:00:00",
                "2026-01-02 10:00:00",
            )
            for i in range(1, n_items + 1)
            for user in random.sample(user_ids, 3)
        ),
    )
    connection.execute("UPDATE project SET n_items = ? WHERE id = ?", (n_items, project_id))
    connection.commit()
    connection.close()


def _bare(path: Path, project_id: int, out: Path) -> int:
    connection = sqlite3.connect(path)
    cursor = connection.execute(
        "SELECT item.external_id, user.username, annotation.label, annotation.created_at, "
        "annotation.updated_at, annotation.seconds FROM annotation "
        "JOIN item ON item.id = annotation.item_id JOIN user ON user.id = annotation.user_id "
        "WHERE annotation.project_id = ? ORDER BY annotation.id",
        (project_id,),
    )
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(
            ["external_id", "annotator", "label", "created_at", "updated_at", "seconds"]
        )
        rows = 0
        for row in cursor:
            writer.writerow(row)
            rows += 1
    connection.close()
    return rows


def _measure(call) -> tuple[int, float, float]:
    """Rows, seconds (a plain run) and tracemalloc's peak in MiB (a second, traced run:
    tracing slows Python code several times, so it is kept out of the timing)."""
    started = time.perf_counter()
    rows = call()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    call()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return rows, seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    n_items = 33_334 if args.small else 333_334
    app, folder = fresh_app()
    with app.app_context():
        project = create_project("Export", [{"name": n} for n in "abc"], annotations_per_item=3)
        users = [User(username=f"annotator{i}", role="annotator") for i in range(N_ANNOTATORS)]
        db.session.add_all(users)
        db.session.commit()
        project_id, user_ids = project.id, [u.id for u in users]
        db.engine.dispose()
    database = folder / "labeler.sqlite"
    _populate(database, project_id, user_ids, n_items)
    with app.app_context():
        project = db.session.get(Project, project_id)
        params = {"view": "annotations", "format": "csv"}
        ours = _measure(lambda: write_export(project, params, folder / "labeler.csv"))
    bare = _measure(lambda: _bare(database, project_id, folder / "bare.csv"))
    print(f"{'':<32} {'rows':>10} {'seconds':>8} {'rows/s':>9} {'peak MiB':>9} {'file MB':>8}")
    for name, (rows, seconds, peak), file in (
        ("labeler export (job's writer)", ours, "labeler.csv"),
        ("bare sqlite3 + csv.writer", bare, "bare.csv"),
    ):
        size = (folder / file).stat().st_size / 1e6
        print(
            f"{name:<32} {rows:>10,} {seconds:>8.1f} {rows / seconds:>9,.0f} "
            f"{peak:>9.1f} {size:>8.1f}"
        )
    print(f"time ratio labeler / bare: {ours[1] / bare[1]:.2f}")


if __name__ == "__main__":
    main()
