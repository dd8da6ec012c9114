"""The item browser at 1,000,000 items on SQLite: p50/p95 of one filtered page.

Each case is a page the browser serves: full-text search, status, final label with a
consensus range, the model's uncertain predictions, one annotator's recent labels, and a
page deep in the walk (keyset cursor). labeler's path (filters parsed, the statement
built by SQLAlchemy, rows loaded as objects, the viewer's own labels looked up) runs
side by side, round by round, with the same SQL run on bare sqlite3. Goal: p95 of a
filtered page under 100 ms at 1M items.

Texts are SMS spam and Rotten Tomatoes snippets from tests/data, cycled.

    python benchmarks/bench_browse.py               # 1,000,000 items
    python benchmarks/bench_browse.py --items 100000
    python benchmarks/bench_browse.py --reuse DIR   # time an earlier run's pages again
    python benchmarks/bench_browse.py --reuse DIR --forget-statistics

The build runs ANALYZE; an instance never does. ``--forget-statistics`` drops the
figures (sqlite_stat1) from the reused database first, to time the pages as SQLite
plans them on an instance (it changes that folder's database for good).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402
from sqlalchemy import select  # noqa: E402

from benchmarks._common import fresh_app, percentiles  # noqa: E402
from labeler.extensions import db  # noqa: E402
from labeler.models import Project, User  # noqa: E402
from labeler.services.items import browse  # noqa: E402
from labeler.services.projects.store import create_project, set_member  # noqa: E402

N_ANNOTATORS = 10
DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
LABELS = ("ham", "spam", "fresh", "rotten")


def corpus() -> list[str]:
    """SMS spam and Rotten Tomatoes snippets (tests/data; sources in its README)."""
    sms = pd.read_csv(DATA / "sms-spam.csv")["text"]
    reviews = pd.read_csv(DATA / "rotten_tomatoes_corpus.csv.bz2")["text"]
    return pd.concat([sms, reviews]).dropna().sample(frac=1.0, random_state=0).tolist()


def populate(path: Path, project_id: int, user_ids: list[int], n_items: int) -> None:
    """Items (through the search triggers, as an import writes them) and their labels."""
    texts = corpus()
    rng = random.Random(0)
    connection = sqlite3.connect(path)
    items, annotations = [], []
    for i in range(1, n_items + 1):
        labeled = rng.random() < 0.6
        label = rng.choice(LABELS) if labeled else None
        confidence = rng.random() if labeled else None
        disputed = labeled and confidence < 0.03
        day = f"2026-{1 + i * 11 // n_items:02d}-{1 + i % 28:02d} 12:00:00"
        items.append(
            (
                project_id,
                f"item-{i}",
                json.dumps({"text": f"{texts[i % len(texts)]} #{i}"}),
                "test" if rng.random() < 0.2 else "train",
                1 if labeled else 0,
                0 if labeled else 2,
                rng.random(),
                label,
                confidence,
                None if disputed or not labeled else label,
                int(disputed),
                rng.choice(LABELS),
                rng.random(),
                day,
            )
        )
        if labeled:
            annotations.append((i, rng.choice(user_ids), project_id, label, day, day))
    connection.executemany(
        "INSERT INTO item (project_id, external_id, data, split, n_annotations, "
        "queue_tier, queue_rank, consensus_label, consensus_confidence, final_label, disputed, "
        "predicted_label, predicted_confidence, created_at, extra_annotations, ambiguous, "
        "is_gold) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,0,0)",
        items,
    )
    connection.executemany(
        "INSERT INTO annotation (item_id, user_id, project_id, label, created_at, updated_at) "
        "VALUES (?,?,?,?,?,?)",
        annotations,
    )
    connection.execute("UPDATE project SET n_items = ? WHERE id = ?", (n_items, project_id))
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()


def cases(deep_cursor: str) -> dict[str, dict[str, str]]:
    return {
        "first page, no filter": {},
        "search 'free' (common)": {"q": "free"},
        "search 'free call' + test split": {"q": "free call", "split": "test"},
        "search 'hilarious' + final": {"q": "hilarious", "status": "final"},
        "status disputed": {"status": "disputed"},
        "final spam, consensus 0.9..1": {
            "final_label": "spam",
            "min_confidence": "0.9",
            "max_confidence": "1",
        },
        "model says rotten, 0.4..0.5": {
            "predicted_label": "rotten",
            "min_prediction": "0.4",
            "max_prediction": "0.5",
        },
        "annotator u3 since Nov": {"annotator": "u3", "labeled_since": "2026-11-01"},
        "unlabeled, page 200 (cursor)": {"status": "unlabeled", "after": deep_cursor},
        "least sure first, final": {"status": "final", "sort": "least_sure"},
        "model least sure, test split": {"split": "test", "sort": "model_least_sure"},
        "annotator u3, newest first": {"annotator": "u3", "sort": "newest"},
        "model says spam, 0.6..0.601": {
            "predicted_label": "spam",
            "min_prediction": "0.6",
            "max_prediction": "0.601",
        },
        "search 'free', least sure": {"q": "free", "sort": "least_sure"},
        "search 'hilarious', least sure": {"q": "hilarious", "sort": "least_sure"},
        "annotator u3, least sure": {"annotator": "u3", "sort": "least_sure"},
    }


def deep_cursor(project: Project, viewer: User) -> str:
    after = None
    for _ in range(200):
        filters = browse.Filters(status="unlabeled")
        after = browse.browse(project, viewer, "admin", filters, after).next_cursor
    return after or ""


def run(n_items: int, rounds: int, reuse: Path | None = None, forget: bool = False) -> None:
    if reuse is not None:  # a folder an earlier run filled: time the pages only
        if forget:
            connection = sqlite3.connect(reuse / "labeler.sqlite")
            connection.execute("DROP TABLE IF EXISTS sqlite_stat1")
            connection.commit()
            connection.close()
        app, _ = fresh_app(reuse)
        with app.app_context():
            admin_id = db.session.scalar(select(User.id).where(User.username == "boss"))
            project_id = db.session.scalar(select(Project.id).where(Project.name == "Bench"))
            n_items = db.session.get(Project, project_id).n_items
        time_pages(app, reuse, project_id, admin_id, n_items, rounds)
        return
    app, folder = fresh_app()
    print(f"instance folder (pass --reuse to time it again): {folder}")
    with app.app_context():
        project = create_project("Bench", [{"name": name} for name in LABELS])
        users = [User(username=f"u{i}", role="annotator") for i in range(N_ANNOTATORS)]
        admin = User(username="boss", role="admin")
        db.session.add_all([*users, admin])
        db.session.flush()
        for user in users:
            set_member(project, user, "annotator")
        db.session.commit()
        project_id, user_ids, admin_id = project.id, [u.id for u in users], admin.id
        db.engine.dispose()
    start = time.perf_counter()
    populate(folder / "labeler.sqlite", project_id, user_ids, n_items)
    seconds = time.perf_counter() - start
    print(f"{n_items:,} items written (the search index by trigger) in {seconds:.0f} s")
    time_pages(app, folder, project_id, admin_id, n_items, rounds)


def time_pages(app, folder: Path, project_id: int, admin_id: int, n_items: int, rounds: int):
    bare = sqlite3.connect(folder / "labeler.sqlite")
    with app.app_context():
        project = db.session.get(Project, project_id)
        viewer = db.session.get(User, admin_id)
        table = cases(deep_cursor(project, viewer))
        timings = {name: ([], []) for name in table}
        for _ in range(rounds):
            for name, args in table.items():
                ours, theirs = timings[name]
                begin = time.perf_counter()
                filters = browse.parse_filters(args)
                browse.browse(project, viewer, "admin", filters, args.get("after"))
                ours.append((time.perf_counter() - begin) * 1000)
                stmt = browse.statement(project, viewer, "admin", filters, args.get("after"))
                sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
                begin = time.perf_counter()
                bare.execute(sql).fetchall()
                theirs.append((time.perf_counter() - begin) * 1000)
                db.session.rollback()
    print(f"{'case':<34} {'labeler p50':>11} {'p95':>7} {'sqlite3 p50':>11} {'p95':>7}")
    worst = 0.0
    for name, (ours, theirs) in timings.items():
        p50, p95 = percentiles(ours)
        b50, b95 = percentiles(theirs)
        worst = max(worst, p95)
        print(f"{name:<34} {p50:>9.1f}ms {p95:>5.1f}ms {b50:>9.1f}ms {b95:>5.1f}ms", flush=True)
    print(f"worst p95 of a filtered page at {n_items:,} items: {worst:.1f} ms (goal < 100 ms)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--reuse", type=Path, help="the instance folder of an earlier run")
    parser.add_argument(
        "--forget-statistics",
        action="store_true",
        help="with --reuse: drop the planner's figures (ANALYZE) first, as on an instance",
    )
    args = parser.parse_args()
    run(args.items, args.rounds, args.reuse, args.forget_statistics)


if __name__ == "__main__":
    main()
