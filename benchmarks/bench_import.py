"""Import speed (rows/s, labels/s) and peak memory, items alone and items with one label
each, beside a bare baseline in the same run: Python's csv module + sqlite3 executemany
of the same rows into the same tables, no checks.

    python benchmarks/bench_import.py                 # 100,000 rows
    python benchmarks/bench_import.py --rows 1000000  # a million (items alone take ~minutes)

Each side's CPU time is printed beside its wall time: on a shared machine the wall time
follows the other processes' load, the CPU time much less.

The bare side is the physical limit here: the same item rows (with the count, tier and
final label a label gives them already in place) and annotation rows, written with one
executemany each; the items search index, whose trigger would make SQLite's FTS5 flush
after every row of an executemany, is dropped for it and filled with one INSERT ... SELECT
afterwards. Label Studio's figure is not measured here: ~400-490 labels/s is what its
1.23 import of 10,000 labels took on this machine when issue 21 was filed.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LABELS = ("ham", "spam")
ANNOTATORS = 20
LABEL_STUDIO_LABELS_PER_SECOND = (400, 490)  # recorded (issue 21), not measured here


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "length", "label", "annotator"])
        for i in range(rows):
            text = f'Message {i}: free entry, call now, "quoted" 🎉'
            writer.writerow([f"id-{i}", text, i % 97, LABELS[i % 2], f"ann{i % ANNOTATORS}"])


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def labeler_import(path: Path, labeled: bool) -> None:
    import logging

    logging.disable(logging.INFO)  # alembic's migration log
    from benchmarks._common import fresh_app
    from labeler.extensions import db
    from labeler.services.data.import_spec import ColumnMapping
    from labeler.services.data.imports import import_file
    from labeler.services.projects.store import create_project

    mapping = ColumnMapping(id="id", text=("text",), numeric=("length",))
    if labeled:
        mapping = ColumnMapping(
            id="id",
            text=("text",),
            numeric=("length",),
            label="label",
            annotator="annotator",
            add_annotators=True,
        )
    app, _ = fresh_app()
    with app.app_context():
        project = create_project("Bench", [{"name": name} for name in LABELS])
        db.session.commit()
        start, cpu = time.perf_counter(), time.process_time()
        with path.open("rb") as stream:
            report = import_file(project, stream, "csv", mapping)
        db.session.commit()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        settled = project.filled_slots
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "cpu_seconds": cpu,
                "rows": report.added,
                "labels": report.annotations_added,
                "filled_slots": settled,
                "peak_mb": _peak_mb(),
            }
        )
    )


def bare_import(path: Path, labeled: bool) -> None:
    import logging

    logging.disable(logging.INFO)
    from benchmarks._common import fresh_app

    app, folder = fresh_app()
    connection = sqlite3.connect(folder / "labeler.sqlite", isolation_level=None)
    connection.execute("PRAGMA foreign_keys=ON")  # as labeler's connections
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(
        "INSERT INTO project (name, labels, guidelines, annotations_per_item, "
        "consensus_method, dispute_threshold, sampling_strategy, model_inputs, "
        "display, test_fraction, retrain_every, split_seed, n_items, "
        "filled_slots, created_at) VALUES ('b','[]','',1,'m',0.5,'r','{}','{}',"
        "0.2,50,0,0,0,'2026-01-01')"
    )
    start, cpu = time.perf_counter(), time.process_time()
    connection.execute("BEGIN IMMEDIATE")
    body = connection.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'item_search_insert'"
    ).fetchone()[0]
    connection.execute("DROP TRIGGER item_search_insert")
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        rows = list(reader)
    users = {}
    if labeled:
        for name in sorted({r[4] for r in rows}):
            users[name] = connection.execute(
                "INSERT INTO user (username, password_hash, role, active, created_at) "
                "VALUES (?, '', 'annotator', 0, '2026-01-01') RETURNING id",
                (name,),
            ).fetchone()[0]
    settled = "1, 0, ?, ?, 'unanimous', 1.0" if labeled else "0, 2, NULL, NULL, NULL, NULL"
    connection.executemany(
        "INSERT INTO item (project_id, external_id, data, split, extra_annotations, "
        "queue_rank, created_at, n_annotations, queue_tier, consensus_label, final_label, "
        "final_source, consensus_confidence) "
        f"VALUES (1, ?, ?, 'train', 0, 0.5, '2026-01-01', {settled})",
        (
            (r[0], json.dumps({"text": r[1], "length": int(r[2])}), *([r[3]] * 2 * labeled))
            for r in rows
        ),
    )
    connection.execute(
        "INSERT INTO item_search(rowid, body) SELECT id, "
        "(SELECT group_concat(value, ' ') FROM json_each(item.data)) FROM item"
    )
    if labeled:
        ids = dict(connection.execute("SELECT external_id, id FROM item"))
        connection.executemany(
            "INSERT INTO annotation (item_id, user_id, project_id, label, created_at, "
            "updated_at) VALUES (?, ?, 1, ?, '2026-01-01', '2026-01-01')",
            ((ids[r[0]], users[r[4]], r[3]) for r in rows),
        )
    connection.execute(body)
    connection.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"seconds": elapsed, "cpu_seconds": cpu, "peak_mb": _peak_mb()}))


def measure(kind: str, labeled: bool, path: Path) -> dict:
    """Each side runs in its own process, so peak memory is its own."""
    out = subprocess.run(
        [sys.executable, __file__, "--run", kind, "labels" if labeled else "items", str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--run", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        side = labeler_import if args.run[0] == "labeler" else bare_import
        side(Path(args.run[2]), args.run[1] == "labels")
        return
    rows = args.rows
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "items.csv"
        write_csv(path, rows)
        size_mb = path.stat().st_size / 2**20
        results = {
            (kind, labeled): measure(kind, labeled, path)
            for kind in ("labeler", "bare")
            for labeled in (False, True)
        }
    ours = results["labeler", True]
    assert ours["labels"] == rows and ours["filled_slots"] == rows, ours  # none lost
    print(f"import of {rows:,} rows ({size_mb:.0f} MB CSV), SQLite, each in its own process:")
    for (kind, labeled), result in results.items():
        name = f"{'labeler' if kind == 'labeler' else 'bare csv + sqlite3 executemany'}, " + (
            "items + 1 label each" if labeled else "items alone"
        )
        unit = "labels/s" if labeled else "rows/s"
        print(
            f"  {name:<52} {result['seconds']:7.1f} s  {rows / result['seconds']:>9,.0f} "
            f"{unit:<8}  CPU {result['cpu_seconds']:5.1f} s ({rows / result['cpu_seconds']:,.0f}"
            f" per CPU-second)  peak RSS {result['peak_mb']:5.0f} MB"
        )
    items, labeled = results["labeler", False]["seconds"], ours["seconds"]
    bare_items, bare_labeled = results["bare", False]["seconds"], results["bare", True]["seconds"]
    print(f"  labeler, labeled import at {items / labeled:.0%} of its items-only import's speed")
    print(
        f"  labeler at {bare_items / items:.0%} (items alone) and {bare_labeled / labeled:.0%} "
        "(items + labels) of the bare executemany's speed, same run"
    )
    cpu = {key: result["cpu_seconds"] for key, result in results.items()}
    print(  # on a shared machine wall time follows the others' load; CPU time much less
        f"  by CPU time: {cpu['bare', False] / cpu['labeler', False]:.0%} (items alone) and "
        f"{cpu['bare', True] / cpu['labeler', True]:.0%} (items + labels) of the bare's speed"
    )
    low, high = LABEL_STUDIO_LABELS_PER_SECOND
    rate = rows / labeled
    print(
        f"  labels/s vs Label Studio 1.23's {low}-{high} labels/s (recorded on this machine "
        f"for issue 21, not measured in this run): {rate / high:.0f}-{rate / low:.0f}x"
    )


if __name__ == "__main__":
    main()
