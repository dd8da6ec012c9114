"""Benchmark: prediction latency and batch throughput, labeler vs the bare pipeline.

Run from the repository root:

    python benchmarks/bench_predict.py            # 500 single requests, 10 x 5 batches
    python benchmarks/bench_predict.py --small    # 100 single requests, 2 x 5 batches

The demo-like text model (TF-IDF + logistic regression, fitted by labeler's own
training core on 3,000 SMS spam texts from ../shared/data) is saved as an artifact
and made the champion of a project. In the same run it then measures:

1. one item: the same scikit-learn pipeline's ``predict_proba`` called directly,
   labeler's predict service (routing, cache, inference, handing rows to the log),
   the API through the Flask test client (token auth, validation, JSON), and the
   API over loopback HTTP from 1 and from 2 clients, served by ``labeler serve``
   (werkzeug) and by gunicorn (2 workers), each in a process of its own;
2. batches of 1,000 items through the first three paths, with the log sampled
   (the default) and with every row logged (the log's database writes are timed
   with each block of 5 batches, so work handed to the log's thread is not
   hidden), and through gunicorn over HTTP.

The in-process paths take turns within each round, so a busy moment on a shared
machine hits them alike; ratios are medians of per-round ratios.

Goals (issue 6): single-item API p95 under 10 ms; batch throughput at least 80%
of the bare pipeline's. Prints figures; never asserts a time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import fresh_app, percentiles  # noqa: E402
from labeler.auth import create_token  # noqa: E402
from labeler.core import training  # noqa: E402
from labeler.core.model_inputs import ModelInputs
from labeler.extensions import db  # noqa: E402
from labeler.models import ModelVersion, User  # noqa: E402
from labeler.services.learning import artifacts  # noqa: E402
from labeler.services.projects.store import create_project  # noqa: E402
from labeler.services.serving import predict as serving
from labeler.services.serving import prediction_log

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"  # carried by the project


def _setup(app, train: pd.DataFrame) -> tuple[int, str, training.TrainedModel]:
    with app.app_context():
        admin = User(username="admin", role="admin")
        admin.set_password("bench-pass")
        db.session.add(admin)
        project = create_project("SMS", [{"name": "ham"}, {"name": "spam"}])
        project.model_inputs = {"text": ["text"]}
        model = training.train(
            train[["text"]], train["label"].tolist(), ModelInputs(text=("text",))
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


def _interleaved(calls: dict, rounds: int, block: int = 1, after=None) -> dict[str, list[float]]:
    """Milliseconds per call of each path: the paths take turns within every round,
    ``block`` calls each, so a busy moment on a shared machine hits all of them alike.
    ``after`` (writing the prediction log) runs inside each labeler path's timed
    block: work a request hands to the log's thread is counted, one transaction per
    block (in production the thread writes one a second, so this overstates it)."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            started = time.perf_counter()
            for _ in range(block):
                call()
            if after is not None and name != "bare":
                after()
            samples[name].append((time.perf_counter() - started) * 1000 / block)
    return samples


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _server(kind: str, folder: Path):
    """The instance served by ``labeler serve`` (werkzeug, threaded) or by gunicorn
    (2 workers), in processes of their own as users run them; yields the port."""
    port = _free_port()
    env = {
        **os.environ,
        "LABELER_INSTANCE_PATH": str(folder),
        "LABELER_SECRET_KEY": "bench",
        "LABELER_DATABASE_URL": f"sqlite:///{folder / 'labeler.sqlite'}",
        "LABELER_MONITOR_INTERVAL_SECONDS": "0",
    }
    if kind == "gunicorn":
        command = ["gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}"]
        command += ["--log-level", "warning", "labeler.wsgi:app"]
    else:
        command = [sys.executable, "-m", "flask", "--app", "labeler", "serve", "--port", str(port)]
    # The server's log goes to a file: a pipe nobody reads fills up (64 KB of access
    # log lines) and then blocks the server on its next write.
    log = (folder / f"{kind.replace(' ', '-')}.log").open("w+b")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"{kind} did not start: {log.read()[-2000:]!r}") from None
                time.sleep(0.2)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        log.close()


def _post(port: int, path: str, token: str, body: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection.request("POST", path, body, headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 200, response.status


def _over_http(port: int, path: str, token: str, texts: list[str], n: int, clients: int):
    """Single-item requests over loopback HTTP from ``clients`` threads at once (a new
    connection per request, as the servers close it); per-request milliseconds."""
    samples: list[float] = []
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(i: int) -> float:
        body = json.dumps({"item": {"text": texts[i % len(texts)]}})
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status == 200, response.status
        return elapsed

    def client(offset: int) -> None:
        for i in range(30):  # warm every worker's model cache
            post(offset + i)
        mine = [post(offset + i) for i in range(n)]
        with lock:
            samples.extend(mine)

    workers = [threading.Thread(target=client, args=(k * 997,)) for k in range(clients)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    singles, batches = (100, 2) if args.small else (500, 10)
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
    batch_body = json.dumps({"items": batch})
    print(f"model: TF-IDF + logistic regression on {len(train):,} SMS texts; instance {folder}")

    with app.app_context():
        from labeler.models import Project

        def service(rows: list[dict]) -> None:
            project = db.session.get(Project, project_id)
            served = serving.predict(project, serving.check_rows(project, rows))
            serving.log_predictions(project_id, served)
            db.session.rollback()  # end the read, as a request does

        def api(body: bytes) -> None:
            # The body is encoded once, as the bare pipeline's frame is built once:
            # what is timed is the server's work (parse, check, predict, log, encode).
            response = client.post(
                path, data=body, content_type="application/json", headers=headers
            )
            assert response.status_code == 200, response.json

        for i in range(20):  # warm the cache and the code paths
            service([{"text": texts[i]}])
            api(json.dumps({"item": {"text": texts[i]}}))
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
                "api": lambda: api(json.dumps({"item": {"text": texts[step()]}})),
            },
            singles,
        )
        prediction_log.flush()
    http = {}
    over_http = None
    for kind in ("labeler serve", "gunicorn"):
        if kind == "gunicorn" and shutil.which("gunicorn") is None:
            continue
        with _server(kind, folder) as port:
            http[f"{kind}, 1 client"] = _over_http(port, path, token, texts, singles, 1)
            http[f"{kind}, 2 clients at once"] = _over_http(port, path, token, texts, singles, 2)
            if kind == "gunicorn":  # batches over real HTTP, taking turns with the bare model
                over_http = _interleaved(
                    {
                        "bare": lambda: model.pipeline.predict_proba(batch_frame),
                        "api": lambda: _post(port, path, token, batch_body),
                    },
                    batches,
                    block=5,
                )
    print(f"\none item, {singles} requests each                 p50 ms   p95 ms")
    for name, samples in (
        ("bare pipeline (predict_proba)", one["bare"]),
        ("labeler service (route, infer, log)", one["service"]),
        ("labeler API, in process (Flask test client)", one["api"]),
        *((f"labeler API over HTTP: {name}", samples) for name, samples in http.items()),
    ):
        p50, p95 = percentiles(samples)
        print(f"  {name:<52} {p50:7.2f}  {p95:7.2f}")
    print("  goal: API p95 under 10 ms")

    with app.app_context():
        print(
            f"\nbatches of 1,000, {batches} rounds of 5 each, taking turns"
            " (log writes included)   ms   items/s  vs bare"
        )
        for budget, label in ((2000, "log sampled (default)"), (0, "every row logged")):
            app.config["PREDICTION_LOG_MAX_ROWS_PER_SECOND"] = budget
            runs = _interleaved(
                {
                    "bare": lambda: model.pipeline.predict_proba(batch_frame),
                    "service": lambda: service(batch),
                    "api": lambda: api(batch_body),
                },
                batches,
                block=5,
                after=prediction_log.flush,
            )
            print(f"  {label}:")
            for name, key in (
                ("bare pipeline", "bare"),
                ("labeler service", "service"),
                ("labeler API (Flask test client)", "api"),
            ):
                ms = float(np.median(runs[key]))
                ratio = float(np.median(np.asarray(runs["bare"]) / np.asarray(runs[key])))
                print(f"    {name:<45} {ms:7.1f}  {1000 / ms * 1000:8,.0f}   {ratio:6.0%}")
        if over_http is not None:
            print("  over loopback HTTP, gunicorn in its own process (log sampled):")
            for name, key in (("bare pipeline", "bare"), ("labeler API, gunicorn", "api")):
                ms = float(np.median(over_http[key]))
                ratio = float(np.median(np.asarray(over_http["bare"]) / np.asarray(over_http[key])))
                print(f"    {name:<45} {ms:7.1f}  {1000 / ms * 1000:8,.0f}   {ratio:6.0%}")
        print("  goal: at least 80% of the bare pipeline's throughput (median of per-round ratios)")


if __name__ == "__main__":
    main()
