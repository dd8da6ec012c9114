"""Load: 50 simulated annotators against gunicorn, on SQLite and on PostgreSQL.

Each annotator loops "GET next item, POST a label" over the API for a fixed time,
on loopback only. Afterwards the database is checked: the annotation count equals
the submits the server acknowledged (nothing lost, nothing doubled), no item has
more than k annotations, and no response was a 5xx.

    python benchmarks/bench_load.py                      # SQLite only, 60 s
    python benchmarks/bench_load.py --postgres URL       # + PostgreSQL, 1 and 4 workers
    python benchmarks/bench_load.py --seconds 15 --clients 50

URL is a server the benchmark may create a database on, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``. It prints sustained
annotations/s and p95 latency per set-up, then the ratios to SQLite.
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
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
LABELS = ("ham", "spam")


@dataclass
class LoadResult:
    name: str
    seconds: float
    acknowledged: int = 0  # every submit the server acknowledged (checked against the DB)
    measured: int = 0  # those after the warm-up (for the rate)
    conflicts: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    annotations_in_db: int = -1
    max_per_item: int = -1
    k: int = 2

    @property
    def server_errors(self) -> int:
        return sum(n for code, n in self.statuses.items() if code >= 500)

    @property
    def per_second(self) -> float:
        return self.measured / self.seconds

    @property
    def p95_ms(self) -> float:
        return float(np.percentile(self.latencies_ms, 95)) if self.latencies_ms else 0.0

    @property
    def p50_ms(self) -> float:
        return float(np.percentile(self.latencies_ms, 50)) if self.latencies_ms else 0.0

    def line(self) -> str:
        return (
            f"{self.name:<28} {self.per_second:8.1f} annotations/s   p50 {self.p50_ms:6.1f} ms"
            f"   p95 {self.p95_ms:7.1f} ms   5xx {self.server_errors}   acked "
            f"{self.acknowledged} = in db {self.annotations_in_db}   max/item "
            f"{self.max_per_item} <= k {self.k}"
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(
    database_url: str, instance: Path, clients: int, n_items: int, k: int
) -> tuple[int, list[str]]:
    """Migrate, create a project of ``n_items`` and one annotator (with a token) per client."""
    import labeler.models
    from labeler import create_app
    from labeler.auth import create_token
    from labeler.cli.instance import apply_migrations
    from labeler.extensions import db
    from labeler.models import User
    from labeler.services.data.import_spec import ColumnMapping
    from labeler.services.data.imports import import_rows
    from labeler.services.projects.store import create_project, set_member

    labeler.models.PASSWORD_METHOD = "pbkdf2:sha256:1000"  # 50 logins, not a hashing benchmark
    app = create_app(
        {
            "SECRET_KEY": "load",
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": database_url,
            "JOB_EXECUTOR": "inline",
        }
    )
    with app.app_context():
        apply_migrations()
        project = create_project(
            "Load", [{"name": label} for label in LABELS], annotations_per_item=k
        )
        rows = [(i + 1, {"id": f"m{i}", "text": f"message {i}"}) for i in range(n_items)]
        import_rows(project, rows, ColumnMapping(id="id", text=("text",)))
        secrets = []
        for n in range(clients):
            user = User(username=f"annotator{n}", role="annotator")
            user.set_password("load-test-pass")
            db.session.add(user)
            db.session.flush()
            set_member(project, user, "annotator")
            secrets.append(create_token(user, "load")[1])
        db.session.commit()
        project_id = project.id
        db.engine.dispose()
    return project_id, secrets


def start_gunicorn(database_url: str, instance: Path, workers: int, port: int) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LABELER_")}
    env.update(
        {
            "LABELER_DATABASE_URL": database_url,
            "LABELER_SECRET_KEY": "load",
            "LABELER_INSTANCE_PATH": str(instance),
            "LABELER_JOB_EXECUTOR": "thread",
            "PYTHONPATH": str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
        }
    )
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        "8",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "--timeout",
        "60",
        "labeler.wsgi:app",
    ]
    with (instance / "gunicorn.log").open("ab") as log:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=REPO,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # a worker answers once it has imported the app
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("GET", "/login")
            if connection.getresponse().status == 200:
                return process
        except OSError:  # a refused or timed-out attempt, on a busy machine too
            if process.poll() is not None:
                raise RuntimeError((instance / "gunicorn.log").read_text()) from None
            time.sleep(0.2)
        finally:
            connection.close()
    os.killpg(process.pid, signal.SIGKILL)
    raise RuntimeError("gunicorn did not answer within 120 s")


def stop_gunicorn(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def _annotator(
    port: int,
    project_id: int,
    token: str,
    measure_from: float,
    deadline: float,
    result: LoadResult,
    lock: threading.Lock,
) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    acknowledged = conflicts = measured = 0

    def call(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        started = time.perf_counter()
        connection.request(method, path, body=json.dumps(body) if body else None, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        if time.monotonic() >= measure_from:  # workers warm up (first requests) unmeasured
            latencies.append((time.perf_counter() - started) * 1000)
        statuses[response.status] = statuses.get(response.status, 0) + 1
        return response.status, (json.loads(payload) if payload.startswith(b"{") else {})

    n = 0
    try:
        while time.monotonic() < deadline:
            status, payload = call("GET", f"/api/v1/projects/{project_id}/next")
            if status != 200 or not payload.get("items"):
                time.sleep(0.05)
                continue
            item_id = payload["items"][0]["id"]
            status, _ = call(
                "POST",
                f"/api/v1/projects/{project_id}/items/{item_id}/annotation",
                {"label": LABELS[n % 2], "seconds": 1.5},
            )
            n += 1
            if status in (200, 201):
                acknowledged += 1
                measured += time.monotonic() >= measure_from
            elif status == 409:
                conflicts += 1
    finally:
        connection.close()
        with lock:
            result.acknowledged += acknowledged
            result.measured += measured
            result.conflicts += conflicts
            result.latencies_ms.extend(latencies)
            for code, count in statuses.items():
                result.statuses[code] = result.statuses.get(code, 0) + count


def drive(
    port: int,
    project_id: int,
    tokens: list[str],
    seconds: float,
    name: str,
    k: int,
    warmup: float = 5.0,
) -> LoadResult:
    result = LoadResult(name=name, seconds=seconds, k=k)
    lock = threading.Lock()
    measure_from = time.monotonic() + warmup
    deadline = measure_from + seconds
    threads = [
        threading.Thread(
            target=_annotator, args=(port, project_id, token, measure_from, deadline, result, lock)
        )
        for token in tokens
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


def check_database(database_url: str, project_id: int, result: LoadResult) -> None:
    from sqlalchemy import create_engine, func, select

    from labeler.models import Annotation

    engine = create_engine(database_url)
    with engine.connect() as connection:
        result.annotations_in_db = connection.scalar(
            select(func.count(Annotation.id)).where(Annotation.project_id == project_id)
        )
        per_item = (
            select(func.count(Annotation.id).label("n"))
            .where(Annotation.project_id == project_id)
            .group_by(Annotation.item_id)
            .subquery()
        )
        result.max_per_item = connection.scalar(select(func.max(per_item.c.n))) or 0
    engine.dispose()


def run_load(
    database_url: str,
    instance: Path,
    *,
    workers: int,
    clients: int,
    seconds: float,
    name: str,
    n_items: int = 20000,
    k: int = 2,
) -> LoadResult:
    """Prepare, serve with gunicorn, drive ``clients`` annotators, check the database."""
    instance.mkdir(parents=True, exist_ok=True)
    project_id, tokens = prepare(database_url, instance, clients, n_items, k)
    port = _free_port()
    server = start_gunicorn(database_url, instance, workers, port)
    try:
        result = drive(port, project_id, tokens, seconds, name, k)
    finally:
        stop_gunicorn(server)
    check_database(database_url, project_id, result)
    return result


def create_postgres_database(server_url: str) -> tuple[str, callable]:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"labeler_load_{uuid.uuid4().hex[:8]}"
    admin = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)

    def execute(statement: str) -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(statement)

    execute(f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    return url, lambda: execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("LABELER_TEST_DATABASE_URL"),
        help="a PostgreSQL server URL (default: LABELER_TEST_DATABASE_URL)",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="labeler-load-"))
    results = []
    try:
        sqlite_url = f"sqlite:///{folder / 'sqlite' / 'labeler.sqlite'}"
        results.append(
            run_load(
                sqlite_url,
                folder / "sqlite",
                workers=1,
                clients=args.clients,
                seconds=args.seconds,
                name="SQLite, 1 process",
            )
        )
        print(results[-1].line(), flush=True)
        for workers in (1, 4) if args.postgres else ():
            url, drop = create_postgres_database(args.postgres)
            try:
                results.append(
                    run_load(
                        url,
                        folder / f"pg{workers}",
                        workers=workers,
                        clients=args.clients,
                        seconds=args.seconds,
                        name=f"PostgreSQL, {workers} worker(s)",
                    )
                )
            finally:
                drop()
            print(results[-1].line(), flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    base = results[0]
    print(f"\n{args.clients} clients, {args.seconds:.0f} s each; ratios to SQLite:")
    for result in results:
        print(
            f"  {result.name:<28} throughput x{result.per_second / base.per_second:5.2f}"
            f"   p95 x{result.p95_ms / base.p95_ms:5.2f}"
        )
    bad = [
        r
        for r in results
        if r.server_errors or r.annotations_in_db != r.acknowledged or r.max_per_item > r.k
    ]
    if bad:
        sys.exit(f"FAILED invariants: {[r.name for r in bad]}")


if __name__ == "__main__":
    main()
