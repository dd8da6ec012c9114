"""What webhooks cost the labeling path: next item + submit with and without ``emit``.

Every submit that settles a label calls ``webhooks.emit`` (one indexed query per
transaction for the project's active webhooks). Rounds interleave three variants on
one 10k-item SQLite project, so machine load hits them alike:

- bare: ``emit`` replaced by a no-op (labeler before webhooks);
- none: no webhook registered (every instance that does not use them);
- other: a webhook registered for ``model.trained`` only (subscribed, but not to items).

    python benchmarks/bench_webhooks.py [--operations 600]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import fresh_app, percentiles  # noqa: E402
from benchmarks.bench_queue import N_USERS, populate  # noqa: E402
from labeler.db_engine import begin_write  # noqa: E402
from labeler.extensions import db  # noqa: E402
from labeler.models import Project, User  # noqa: E402
from labeler.services.labeling import labels, queue  # noqa: E402
from labeler.services.projects import webhooks  # noqa: E402
from labeler.services.projects.store import create_project, set_member  # noqa: E402


def setup(n_items: int, register: bool):
    app, folder = fresh_app()
    with app.app_context():
        project = create_project("Bench", [{"name": "a"}, {"name": "b"}])
        users = [User(username=f"u{i}", role="annotator") for i in range(N_USERS)]
        db.session.add_all(users)
        db.session.flush()
        for user in users:
            set_member(project, user, "annotator")
        if register:
            webhooks.register(project, "http://127.0.0.1:9/", ["model.trained"], None)
        db.session.commit()
        ids = project.id, [u.id for u in users]
        db.engine.dispose()
    populate(folder / "labeler.sqlite", ids[0], n_items)
    return app, ids


def one(app, ids, op: int) -> float:
    project_id, user_ids = ids
    with app.app_context():
        start = time.perf_counter()
        begin_write()
        project = db.session.get(Project, project_id)
        user = db.session.get(User, user_ids[op % N_USERS])
        item = queue.next_items(project, user)[0]
        queue.submit(project, user, item, "a", 2.0)
        db.session.commit()
        return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--operations", type=int, default=600)
    args = parser.parse_args()
    variants = {
        "bare": setup(10_000, False),
        "none": setup(10_000, False),
        "other": setup(10_000, True),
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    real_emit = labels.webhooks.emit
    names = list(variants)
    for op in range(args.operations + 30):
        for name in names[op % 3 :] + names[: op % 3]:  # each variant goes first in turn
            app, ids = variants[name]
            labels.webhooks.emit = (lambda *a, **k: None) if name == "bare" else real_emit
            took = one(app, ids, op)
            if op >= 30:  # warm-up excluded
                samples[name].append(took)
    labels.webhooks.emit = real_emit
    what = f"next item + submit, {args.operations} ops each, interleaved"
    print(f"{'variant':>8} {'p50 ms':>8} {'p95 ms':>8}   ({what})")
    bare = percentiles(samples["bare"])
    for name, values in samples.items():
        p50, p95 = percentiles(values)
        print(f"{name:>8} {p50:>8.2f} {p95:>8.2f}   p50 {p50 / bare[0]:.2f} x bare")


if __name__ == "__main__":
    main()
