"""The agreement page and review queue at 100,000 items / 300,000 annotations (SQLite).

Builds a project of 100k items, each labeled by 3 of 30 simulated annotators of
different accuracy (bulk-inserted straight into SQLite, like bench_queue.py),
then times: the ``agreement`` job, the ``consensus`` (Dawid-Skene) job, the
agreement page render from the stored result, and the first and a deep review
queue page. Goal: the page opens in under a second.

    python benchmarks/bench_agreement_page.py [--items 100000]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import fresh_app, peak_rss_mb  # noqa: E402
from labeler import jobs  # noqa: E402
from labeler.extensions import db  # noqa: E402
from labeler.models import Project, User  # noqa: E402
from labeler.services.projects.store import create_project, set_member  # noqa: E402

LABELS = ["negative", "neutral", "positive"]
N_ANNOTATORS, PER_ITEM = 30, 3


def populate(path: Path, project_id: int, user_ids: list[int], n_items: int) -> None:
    """Items and 3 votes each; annotator accuracy 0.55..0.95; ties left disputed."""
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, n_items)
    accuracy = np.linspace(0.55, 0.95, len(user_ids))
    connection = sqlite3.connect(path)
    connection.executemany(
        "INSERT INTO item (id, project_id, external_id, data, split, n_annotations, "
        "extra_annotations, queue_tier, queue_rank, disputed, ambiguous, created_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            (
                i + 1,
                project_id,
                f"item-{i}",
                json.dumps({"text": f"text number {i}"}),
                "train",
                PER_ITEM,
                0,
                0,
                float(i),
                0,
                0,
                "2026-01-01 00:00:00",
            )
            for i in range(n_items)
        ),
    )
    who = np.argsort(rng.random((n_items, N_ANNOTATORS)), axis=1)[:, :PER_ITEM]
    right = rng.random(who.shape) < accuracy[who]
    given = np.where(right, truth[:, None], rng.integers(0, 3, who.shape))
    seconds = rng.gamma(2.0, 3.0, who.shape)
    rows = (
        (
            i + 1,
            user_ids[who[i, j]],
            project_id,
            LABELS[given[i, j]],
            float(seconds[i, j]),
            "2026-01-01 00:00:00",
            "2026-01-01 00:00:00",
        )
        for i in range(n_items)
        for j in range(PER_ITEM)
    )
    connection.executemany(
        "INSERT INTO annotation (item_id, user_id, project_id, label, seconds, created_at, "
        "updated_at) VALUES (?,?,?,?,?,?,?)",
        rows,
    )
    # Majority-vote state as refresh_item would leave it: 3-way splits are disputed.
    distinct = np.array([len(set(row)) for row in given])
    connection.executemany(
        "UPDATE item SET disputed = 1 WHERE id = ?",
        ((int(i) + 1,) for i in np.flatnonzero(distinct == 3)),
    )
    connection.execute(
        "UPDATE project SET n_items = ?, filled_slots = ? WHERE id = ?",
        (n_items, n_items * PER_ITEM, project_id),
    )
    connection.commit()
    connection.close()


def timed(function):
    start = time.perf_counter()
    value = function()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()
    app, folder = fresh_app()
    with app.app_context():
        project = create_project(
            "Bench",
            [{"name": n} for n in LABELS],
            annotations_per_item=PER_ITEM,
            consensus_method="dawid_skene",
        )
        users = [User(username=f"annotator-{i:02d}", role="annotator") for i in range(N_ANNOTATORS)]
        reviewer = User(username="reviewer", role="reviewer")
        reviewer.set_password("bench-pass")
        db.session.add_all([*users, reviewer])
        db.session.flush()
        for member in users:
            set_member(project, member, "annotator")
        set_member(project, reviewer, "reviewer")
        db.session.commit()
        project_id, user_ids = project.id, [u.id for u in users]
        db.engine.dispose()
    _, build = timed(lambda: populate(folder / "labeler.sqlite", project_id, user_ids, args.items))
    print(f"built {args.items:,} items / {args.items * PER_ITEM:,} annotations in {build:.1f} s")
    with app.app_context():
        job, seconds = timed(lambda: jobs.start("agreement", project_id))
        db.session.refresh(job)
        assert job.status == "done", job.error
        print(
            f"agreement job: {seconds:.2f} s (alpha {job.result['alpha']['value']:.3f}, "
            f"CI {job.result['alpha']['ci_low']:.3f}-{job.result['alpha']['ci_high']:.3f})"
        )
        job, seconds = timed(lambda: jobs.start("consensus", project_id))
        db.session.refresh(job)
        assert job.status == "done", job.error
        print(
            f"consensus job (Dawid-Skene + write {job.result['n_items']:,} items): "
            f"{seconds:.2f} s, {job.result['n_iter']} iterations, "
            f"{job.result['n_disputed']:,} disputed"
        )
        assert db.session.get(Project, project_id).n_items == args.items
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    client.post(
        "/login", data={"username": "reviewer", "password": "bench-pass", "csrf_token": csrf}
    )
    for name, url in (
        ("agreement page", f"/projects/{project_id}/agreement"),
        ("review queue, first page", f"/projects/{project_id}/review"),
        ("review queue, deep page", f"/projects/{project_id}/review?after={args.items - 5_000}"),
    ):
        samples = []
        for _ in range(5):
            response, seconds = timed(lambda url=url: client.get(url))
            assert response.status_code == 200, (url, response.status_code)
            samples.append(seconds)
        print(f"{name}: median {np.median(samples) * 1000:.0f} ms of 5 renders (goal < 1000 ms)")
    print(f"peak RSS {peak_rss_mb():.0f} MiB")


if __name__ == "__main__":
    main()
