"""Benchmark: prediction latency and batch throughput, labeler vs the bare pipeline.

Run from the repository root:

    python benchmarks/bench_predict.py            # 500 single requests, 30 batch rounds
    python benchmarks/bench_predict.py --small    # 100 single requests, 5 batch rounds

The demo-like text model (TF-IDF + logistic regression, fitted by labeler's own
training core on 3,000 SMS spam texts from ../shared/data) is saved as an artifact
and made the champion of a project. In the same run it then measures:

1. one item: the same scikit-learn pipeline's ``predict_proba`` called directly,
   labeler's predict service (routing, cache, inference, handing rows to the log),
   the API through the Flask test client (token auth, validation, JSON), and the
   API over loopback HTTP (werkzeug's threaded server), from 1 and from 2 clients;
2. batches of 1,000 items through the first three paths, with the log sampled
   (the default) and with every row logged. The log's database writes are timed
   inside each call, so work handed to the log's thread is not hidden.

The in-process paths take turns within each round, so a busy moment on a shared
machine hits them alike; ratios are medians of per-round ratios.

Goals (issue 6): single-item API p95 under 10 ms; batch throughput at least 80%
of the bare pipeline's. Prints figures; never asserts a time.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import fresh_app, percentiles  # noqa: E402
from labeler import training  # noqa: E402
from labeler.auth import create_token  # noqa: E402
from labeler.extensions import db  # noqa: E402
from labeler.models import ModelVersion, User  # noqa: E402
from labeler.services import artifacts, prediction_log, serving  # noqa: E402
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


def _interleaved(calls: dict, rounds: int, after=None) -> dict[str, list[float]]:
    """Milliseconds per call of each path, the paths taking turns within every round,
    so a busy moment on a shared machine hits all of them alike. ``after`` (the log
    writes) runs inside each timed call: work a request hands off is counted."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            if after is not None and name != "bare":
                after()
            samples[name].append((time.perf_counter() - started) * 1000)
    return samples


def _over_http(app, path: str, token: str, texts: list[str], singles: int, clients: int):
    """Single-item requests over loopback HTTP (werkzeug's threaded server, keep-alive):
    per-request milliseconds from ``clients`` threads at once."""
    import requests
    from werkzeug.serving import WSGIRequestHandler, make_server

    WSGIRequestHandler.protocol_version = "HTTP/1.1"  # keep-alive, as a real client would
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access-log line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}{path}"
    samples: list[float] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        for i in range(20):  # warm the connection
            session.post(url, json={"item": {"text": texts[i]}})
        mine = []
        for i in range(singles):
            started = time.perf_counter()
            response = session.post(url, json={"item": {"text": texts[(offset + i) % len(texts)]}})
            mine.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
        with lock:
            samples.extend(mine)

    try:
        workers = [threading.Thread(target=client, args=(k * 997,)) for k in range(clients)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        server.shutdown()
        WSGIRequestHandler.protocol_version = "HTTP/1.0"
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    singles, batches = (100, 5) if args.small else (500, 30)
    sms = pd.read_csv(DATA / "sms-spam.csv", usecols=["spam", "text"])
    sms["label"] = sms["spam"].map({0: "ham", 1: "spam"})
    train, stream = sms.iloc[:3000], sms.iloc[3000:].reset_index(drop=True)
    app, folder = fresh_app()
    app.config["MONITOR_INTERVAL_SECONDS"] = 0
    project_id, token, model = _setup(app, train)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/api/v1/projects/{project_id}/predict"
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
            db.session.rollback()  # end the read, as a request does

        def api(body: dict) -> None:
            response = client.post(path, json=body, headers=headers)
            assert response.status_code == 200, response.json

        for i in range(20):  # warm the cache and the code paths
            service([{"text": texts[i]}])
            api({"item": {"text": texts[i]}})
        frames = [pd.DataFrame({"text": [t]}) for t in texts[:singles]]
        turn = iter(range(10**9))
        at = {"i": 0}

        def step() -> int:
            at["i"] = next(turn) // 3 % singles
            return at["i"]

        one = _interleaved(
            {
                "bare": lambda: model.pipeline.predict_proba(frames[step()]),
                "service": lambda: service([{"text": texts[step()]}]),
                "api": lambda: api({"item": {"text": texts[step()]}}),
            },
            singles,
        )
        prediction_log.flush()
    http1 = _over_http(app, path, token, texts, singles, clients=1)
    http2 = _over_http(app, path, token, texts, singles // 2, clients=2)
    print(f"\none item, {singles} requests each, taking turns      p50 ms   p95 ms")
    for name, samples in (
        ("bare pipeline (predict_proba)", one["bare"]),
        ("labeler service (route, infer, log)", one["service"]),
        ("labeler API, Flask test client", one["api"]),
        ("labeler API over HTTP, 1 client", http1),
        ("labeler API over HTTP, 2 clients at once", http2),
    ):
        p50, p95 = percentiles(samples)
        print(f"  {name:<43} {p50:7.2f}  {p95:7.2f}")
    print(
        f"  goal: API p95 under 10 ms; in-process {percentiles(one['api'])[1]:.2f} ms, "
        f"over HTTP {percentiles(http1)[1]:.2f} ms"
    )

    with app.app_context():
        print(
            f"\nbatches of 1,000, {batches} rounds taking turns"
            " (log writes included)       ms   items/s  vs bare"
        )
        for budget, label in ((2000, "log sampled (default)"), (0, "every row logged")):
            app.config["PREDICTION_LOG_MAX_ROWS_PER_SECOND"] = budget
            runs = _interleaved(
                {
                    "bare": lambda: model.pipeline.predict_proba(batch_frame),
                    "service": lambda: service(batch),
                    "api": lambda: api({"items": batch}),
                },
                batches,
                after=prediction_log.flush,
            )
            print(f"  {label}:")
            for name, key in (
                ("bare pipeline", "bare"),
                ("labeler service", "service"),
                ("labeler HTTP API", "api"),
            ):
                ms = float(np.median(runs[key]))
                ratio = float(np.median(np.asarray(runs["bare"]) / np.asarray(runs[key])))
                print(f"    {name:<45} {ms:7.1f}  {1000 / ms * 1000:8,.0f}   {ratio:6.0%}")
        print("  goal: at least 80% of the bare pipeline's throughput (median of per-round ratios)")


if __name__ == "__main__":
    main()
