"""Benchmark: prediction latency and batch throughput, labeler vs the bare pipeline.

Run from the repository root:

    python benchmarks/bench_predict.py            # 500 single requests, 10 batches
    python benchmarks/bench_predict.py --small    # 100 single requests, 3 batches

The demo-like text model (TF-IDF + logistic regression, fitted by labeler's own
training core on 3,000 SMS spam texts from ../shared/data) is saved as an artifact
and made the champion of a project. In the same run it then measures:

1. one item: the same scikit-learn pipeline's ``predict_proba`` called directly,
   labeler's predict service (routing, cache, inference, logging one row), and
   the HTTP API through the Flask test client (token auth, validation, JSON);
2. batches of 1,000 items through the same three paths.

Goals (issue 6): single-item API p95 under 10 ms; batch throughput at least 80%
of the bare pipeline's. Prints figures; never asserts a time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import fresh_app, percentiles  # noqa: E402
from labeler import training  # noqa: E402
from labeler.auth import create_token  # noqa: E402
from labeler.extensions import db  # noqa: E402
from labeler.models import ModelVersion, User  # noqa: E402
from labeler.services import artifacts, serving  # noqa: E402
from labeler.services.projects import create_project  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _setup(app, train: pd.DataFrame) -> tuple[int, str, training.TrainedModel]:
    with app.app_context():
        admin = User(username="admin", role="admin")
        admin.set_password("bench-pass")
        db.session.add(admin)
        project = create_project("SMS", [{"name": "ham"}, {"name": "spam"}])
        project.model_inputs = {"text": ["text"]}
        model = training.train(
            train[["text"]], train["label"].tolist(), training.ModelInputs(text=("text",))
        )
        version = ModelVersion(
            project_id=project.id,
            status="champion",
            train_label_counts=train["label"].value_counts().to_dict(),
        )
        db.session.add(version)
        db.session.flush()
        version.artifact_path = artifacts.save(model, project.id, version.id)
        project.champion_id = version.id
        _, token = create_token(admin, "bench")
        db.session.commit()
        return project.id, token, artifacts.load(version)


def _time(call, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    singles, batches = (100, 3) if args.small else (500, 10)
    sms = pd.read_csv(DATA / "sms-spam.csv", usecols=["spam", "text"])
    sms["label"] = sms["spam"].map({0: "ham", 1: "spam"})
    train, stream = sms.iloc[:3000], sms.iloc[3000:].reset_index(drop=True)
    app, folder = fresh_app()
    app.config["MONITOR_INTERVAL_SECONDS"] = 0
    project_id, token, model = _setup(app, train)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    texts = stream["text"].tolist()
    batch = [{"text": t} for t in (texts * 2)[:1000]]
    batch_frame = pd.DataFrame({"text": [row["text"] for row in batch]})
    print(f"model: TF-IDF + logistic regression on {len(train):,} SMS texts; instance {folder}")

    with app.app_context():
        from labeler.models import Project

        def service(rows: list[dict]) -> None:
            project = db.session.get(Project, project_id)
            served = serving.predict(project, serving.check_rows(project, rows))
            serving.log_predictions(project_id, served)
            db.session.commit()

        one = [{"text": texts[0]}]
        for _ in range(20):  # warm the cache and the code paths
            service(one)
            client.post(
                f"/api/v1/projects/{project_id}/predict", json={"item": one[0]}, headers=headers
            )
        frames = [pd.DataFrame({"text": [t]}) for t in texts[:singles]]
        counter = iter(range(10**9))
        bare = _time(lambda: model.pipeline.predict_proba(frames[next(counter) % singles]), singles)
        counter = iter(range(10**9))
        svc = _time(lambda: service([{"text": texts[next(counter) % singles]}]), singles)
        counter = iter(range(10**9))
        api = _time(
            lambda: client.post(
                f"/api/v1/projects/{project_id}/predict",
                json={"item": {"text": texts[next(counter) % singles]}},
                headers=headers,
            ),
            singles,
        )
        print(f"\none item, {singles} requests           p50 ms   p95 ms")
        for name, samples in (
            ("bare pipeline", bare),
            ("labeler service", svc),
            ("labeler HTTP API", api),
        ):
            p50, p95 = percentiles(samples)
            print(f"  {name:<32} {p50:7.2f}  {p95:7.2f}")
        print(
            f"  API p95 / bare p95: {percentiles(api)[1] / percentiles(bare)[1]:.1f}x "
            f"(goal: API p95 under 10 ms)"
        )

        bare_b = min(_time(lambda: model.pipeline.predict_proba(batch_frame), batches))
        svc_b = min(_time(lambda: service(batch), batches))
        api_b = min(
            _time(
                lambda: client.post(
                    f"/api/v1/projects/{project_id}/predict", json={"items": batch}, headers=headers
                ),
                batches,
            )
        )
        print(f"\nbatches of 1,000 (best of {batches})      ms   items/s   vs bare")
        for name, ms in (
            ("bare pipeline", bare_b),
            ("labeler service", svc_b),
            ("labeler HTTP API", api_b),
        ):
            print(f"  {name:<32} {ms:7.1f}  {1000 / ms * 1000:8,.0f}   {bare_b / ms:6.0%}")
        print("  goal: at least 80% of the bare pipeline's throughput")


if __name__ == "__main__":
    main()
