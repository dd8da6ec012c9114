"""Import speed (rows/s) and peak memory for a 1,000,000-row CSV, in the same run as a
bare baseline: Python's csv module + sqlite3 executemany into the same table, no checks.

    python benchmarks/bench_import.py            # 1,000,000 rows
    python benchmarks/bench_import.py --rows 100000
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


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "length"])
        for i in range(rows):
            text = f'Message {i}: free entry, call now, "quoted" 🎉'
            writer.writerow([f"id-{i}", text, i % 97])


def labeler_import(path: Path) -> None:
    from benchmarks._common import fresh_app
    from labeler.extensions import db
    from labeler.services.data.import_spec import ColumnMapping
    from labeler.services.data.imports import import_file
    from labeler.services.projects.store import create_project

    app, _ = fresh_app()
    with app.app_context():
        project = create_project("Bench", [{"name": "a"}, {"name": "b"}])
        db.session.commit()
        start = time.perf_counter()
        with path.open("rb") as stream:
            report = import_file(
                project, stream, "csv", ColumnMapping(id="id", text=("text",), numeric=("length",))
            )
        db.session.commit()
        elapsed = time.perf_counter() - start
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "rows": report.added,
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def bare_import(path: Path) -> None:
    from benchmarks._common import fresh_app

    app, folder = fresh_app()
    connection = sqlite3.connect(folder / "labeler.sqlite")
    connection.execute(
        "INSERT INTO project (name, labels, guidelines, annotations_per_item, "
        "consensus_method, dispute_threshold, sampling_strategy, model_inputs, "
        "display, test_fraction, retrain_every, split_seed, n_items, "
        "filled_slots, created_at) VALUES ('b','[]','',1,'m',0.5,'r','{}','{}',"
        "0.2,50,0,0,0,'2026-01-01')"
    )
    start = time.perf_counter()
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        connection.executemany(
            "INSERT INTO item (project_id, external_id, data, split, n_annotations, "
            "extra_annotations, queue_tier, queue_rank, created_at) "
            "VALUES (1, ?, ?, 'train', 0, 0, 2, 0.5, '2026-01-01')",
            ((r[0], json.dumps({"text": r[1], "length": int(r[2])})) for r in reader),
        )
    connection.commit()
    elapsed = time.perf_counter() - start
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def measure(kind: str, path: Path) -> dict:
    """Each side runs in its own process, so peak memory is its own."""
    out = subprocess.run(
        [sys.executable, __file__, "--run", kind, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--run", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        (labeler_import if args.run[0] == "labeler" else bare_import)(Path(args.run[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "items.csv"
        write_csv(path, args.rows)
        size_mb = path.stat().st_size / 2**20
        ours, bare = measure("labeler", path), measure("bare", path)
    print(f"import of {args.rows:,} rows ({size_mb:.0f} MB CSV), SQLite:")
    for name, result in (("labeler", ours), ("bare csv+sqlite3", bare)):
        print(
            f"  {name:<18} {result['seconds']:7.1f} s  {args.rows / result['seconds']:>9,.0f} "
            f"rows/s  peak RSS {result['peak_mb']:6.0f} MB"
        )
    print(
        f"  labeler / bare time ratio: {ours['seconds'] / bare['seconds']:.2f} "
        "(labeler also validates, dedupes, assigns splits and is all-or-nothing)"
    )


if __name__ == "__main__":
    main()
