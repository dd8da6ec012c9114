"""The item browser's search on PostgreSQL: the GIN text-search index against the scan it
replaced (a case-insensitive regular expression on the item's JSON), in one run.

Both follow the same rule (every word, the last one a prefix); their tokenizers differ at
the edges (PostgreSQL's parser keeps "e-mail" and URLs whole besides their parts), so the
script prints how many items each finds, then times a page of each, round by round,
interleaved.

    python benchmarks/bench_search_pg.py --server postgresql+psycopg://postgres@127.0.0.1:5441/postgres
    python benchmarks/bench_search_pg.py --server ... --items 200000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402
from sqlalchemy import String, cast, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from benchmarks._common import percentiles  # noqa: E402
from labeler import create_app  # noqa: E402
from labeler.cli.instance import apply_migrations  # noqa: E402
from labeler.extensions import db  # noqa: E402
from labeler.models import Item, Project, User  # noqa: E402
from labeler.services.items import browse, search  # noqa: E402
from labeler.services.projects.store import create_project  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
QUERIES = ("free", "free call", "hilarious", "win a prize", "the movie is")


def corpus() -> list[str]:
    sms = pd.read_csv(DATA / "sms-spam.csv")["text"]
    reviews = pd.read_csv(DATA / "rotten_tomatoes_corpus.csv.bz2")["text"]
    return pd.concat([sms, reviews]).dropna().sample(frac=1.0, random_state=0).tolist()


def regex_scan(query: str):
    """The search before the index: whole words, the last a prefix, as a regex scan."""
    words = search._WORD.findall(query)
    text_of = cast(Item.data, String)
    patterns = [rf"\m{word}\M" for word in words[:-1]] + [rf"\m{words[-1]}"]
    condition = text_of.regexp_match(patterns[0], flags="i")
    for pattern in patterns[1:]:
        condition = condition & text_of.regexp_match(pattern, flags="i")
    return condition


def database(server: str) -> str:
    import psycopg

    plain = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute('DROP DATABASE IF EXISTS "labeler_bench_search" WITH (FORCE)')
        connection.execute('CREATE DATABASE "labeler_bench_search"')
    return make_url(server).set(database="labeler_bench_search").render_as_string(False)


def populate(project_id: int, n_items: int) -> None:
    texts = corpus()
    rng = random.Random(0)
    rows = [
        {
            "project_id": project_id,
            "external_id": f"item-{i}",
            "data": json.dumps({"text": f"{texts[i % len(texts)]} #{i}"}),
            "split": "test" if rng.random() < 0.2 else "train",
        }
        for i in range(1, n_items + 1)
    ]
    insert = text(
        "INSERT INTO item (project_id, external_id, data, split, n_annotations, "
        "extra_annotations, queue_tier, queue_rank, disputed, ambiguous, is_gold, created_at) "
        "VALUES (:project_id, :external_id, CAST(:data AS json), :split, 0, 0, 2, 0.5, false, "
        "false, false, now())"
    )
    for start in range(0, len(rows), 20000):
        db.session.execute(insert, rows[start : start + 20000])
        db.session.commit()
    db.session.execute(text("ANALYZE item"))
    db.session.commit()


def run(server: str, n_items: int, rounds: int) -> None:
    url = database(server)
    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": url, "JOB_EXECUTOR": "inline"})
    with app.app_context():
        apply_migrations()
        project = create_project("Bench", [{"name": "ham"}, {"name": "spam"}])
        admin = User(username="boss", role="admin")
        db.session.add(admin)
        db.session.commit()
        begin = time.perf_counter()
        populate(project.id, n_items)
        print(f"{n_items:,} items written and indexed in {time.perf_counter() - begin:.0f} s")
        project = db.session.get(Project, project.id)
        admin = db.session.get(User, admin.id)
        timings = {query: ([], []) for query in QUERIES}
        for query in QUERIES:  # how far the two rules' tokenizers agree
            found = set(
                db.session.scalars(
                    select(Item.id).where(Item.project_id == project.id, search.matching(query))
                )
            )
            scanned = set(
                db.session.scalars(
                    select(Item.id).where(Item.project_id == project.id, regex_scan(query))
                )
            )
            print(
                f"{query!r}: {len(found):,} items by the index, {len(scanned):,} by the scan, "
                f"{len(found & scanned):,} by both"
            )
            db.session.rollback()
        for _ in range(rounds):
            for query, (ours, before) in timings.items():
                filters = browse.Filters(search=query)
                begin = time.perf_counter()
                browse.browse(project, admin, "admin", filters)
                ours.append((time.perf_counter() - begin) * 1000)
                db.session.rollback()
                scan = select(Item).where(Item.project_id == project.id, regex_scan(query))
                begin = time.perf_counter()
                db.session.scalars(scan.order_by(Item.id).limit(browse.PAGE_SIZE + 1)).all()
                before.append((time.perf_counter() - begin) * 1000)
                db.session.rollback()
        db.engine.dispose()
    header = f"{'query':<16} {'GIN p50':>9} {'p95':>8} {'regex scan p50':>15} {'p95':>8}"
    print(f"{header} {'ratio p50':>10}")
    for query, (ours, before) in timings.items():
        p50, p95 = percentiles(ours)
        b50, b95 = percentiles(before)
        print(
            f"{query!r:<16} {p50:>7.1f}ms {p95:>6.1f}ms {b50:>13.1f}ms {b95:>6.1f}ms"
            f" {b50 / p50:>9.1f}x",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True, help="a PostgreSQL URL to create a database on")
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    run(args.server, args.items, args.rounds)


if __name__ == "__main__":
    main()
