"""Load over HTTP, side by side in one run: the bare limit, labeler's embedded default,
and labeler on gunicorn + PostgreSQL (issue 21).

Each annotator loops over the API as the labeling form does, one request a label (POST
the label with ``"next": 1``, which also leases the next item; a GET next only when it
leased none), on loopback only, from a load generator in its own process (this one; the
servers run in theirs). The rows marked "GET next + POST" loop the two-request way, as
API scripts written before the combined submit do. Columns:

- bare: a Flask + sqlite3 app written below, doing the minimal work of a cycle (one
  indexed select of the next open item and a lease counter update; one insert and one
  counter update) on the same WSGI server (gunicorn, same workers and threads);
- labeler's embedded default: ``labeler serve`` (gunicorn web processes + the job worker
  on the job table), SQLite, 100,000 items, retraining every 50 final labels during the
  run (the job worker at its default niceness, ``JOB_WORKER_NICE``, and again at 0, the
  web processes' priority); the same without retraining, for the p95 ratio; one client
  alone for the p50;
- labeler on gunicorn + PostgreSQL, 4 workers (a throwaway cluster, as .ci/run starts
  one; skipped with a message if it cannot start).

Then the import of 100,000 items with one label each (labels/s). Afterwards every
database is checked: acknowledged submits = annotations stored, no item past k, no 5xx.

    python benchmarks/bench_load.py                         # the full comparison
    python benchmarks/bench_load.py --seconds 15 --items 20000 --import-rows 20000   # smaller
    python benchmarks/bench_load.py --legacy --clients 50   # the former SQLite/PostgreSQL run
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
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: `benchmarks` and `labeler` from this tree
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
    cycles_ms: list[float] = field(default_factory=list)  # next + submit, measured ones
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

    def cycle(self, q: float) -> float:
        return float(np.percentile(self.cycles_ms, q)) if self.cycles_ms else 0.0

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

    # 50 logins, not a hashing benchmark
    labeler.models.accounts.PASSWORD_METHOD = "pbkdf2:sha256:1000"
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
    env = _clean_env(
        LABELER_DATABASE_URL=database_url,
        LABELER_SECRET_KEY="load",
        LABELER_INSTANCE_PATH=str(instance),
        LABELER_JOB_EXECUTOR="thread",
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
    return _spawn(command, env, instance / "gunicorn.log", port)


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
    one_request: bool,
) -> None:
    """One annotator: ``one_request`` loops as the form does (each submit also leases the
    next item, ``"next": 1``: one request a label), else GET next then POST a label."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    cycles: list[float] = []
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
    leased: list[dict] = []  # the form's loop: what the last submit leased
    try:
        while time.monotonic() < deadline:
            began = time.perf_counter()
            if not leased:
                status, payload = call("GET", f"/api/v1/projects/{project_id}/next")
                if status != 200 or not payload.get("items"):
                    time.sleep(0.05)
                    continue
                leased = payload["items"]
            item_id = leased.pop(0)["id"]
            body = {"label": LABELS[n % 2], "seconds": 1.5}
            if one_request:
                body["next"] = 1
            status, payload = call(
                "POST", f"/api/v1/projects/{project_id}/items/{item_id}/annotation", body
            )
            if one_request and status in (200, 201):
                leased = payload["next"]["items"]
            n += 1
            if status in (200, 201):
                acknowledged += 1
                if time.monotonic() >= measure_from:
                    measured += 1
                    cycles.append((time.perf_counter() - began) * 1000)
            elif status == 409:
                conflicts += 1
    finally:
        connection.close()
        with lock:
            result.acknowledged += acknowledged
            result.measured += measured
            result.conflicts += conflicts
            result.latencies_ms.extend(latencies)
            result.cycles_ms.extend(cycles)
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
    one_request: bool = True,
) -> LoadResult:
    result = LoadResult(name=name, seconds=seconds, k=k)
    lock = threading.Lock()
    measure_from = time.monotonic() + warmup
    deadline = measure_from + seconds
    threads = [
        threading.Thread(
            target=_annotator,
            args=(port, project_id, token, measure_from, deadline, result, lock, one_request),
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


def legacy_main(args: argparse.Namespace) -> None:
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


# --- issue 21: one run, side by side ---------------------------------------------------

CLI = [sys.executable, "-c", "from labeler.cli.main import main; main()"]


def _wait_http(port: int, process: subprocess.Popen, log: Path, seconds: float = 180) -> None:
    """The one readiness probe: wait until a worker answers GET /login (it has imported
    the app), or fail with the server's log when it exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("GET", "/login")
            if connection.getresponse().status == 200:
                return
        except OSError:  # a refused or timed-out attempt, on a busy machine too
            if process.poll() is not None:
                raise RuntimeError(log.read_text()) from None
            time.sleep(0.3)
        finally:
            connection.close()
    stop_gunicorn(process)
    raise RuntimeError(f"the server did not answer within {seconds} s")


def _spawn(command: list[str], env: dict[str, str], log: Path, port: int) -> subprocess.Popen:
    with log.open("ab") as handle:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=REPO,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=handle,
        )
    _wait_http(port, process, log)
    return process


def _clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LABELER_")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def run_bare(
    folder: Path,
    clients: int,
    seconds: float,
    n_items: int,
    k: int,
    workers: int,
    threads: int,
    one_request: bool = True,
    name: str = "bare Flask+sqlite3",
) -> LoadResult:
    from benchmarks import bare_app

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bare.sqlite"
    bare_app.prepare(str(path), n_items)
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "benchmarks.bare_app:create()",
    ]
    server = _spawn(command, _clean_env(BARE_DB=str(path), BARE_K=str(k)), folder / "log", port)
    try:
        users = [f"u{n}" for n in range(clients)]
        result = drive(port, 1, users, seconds, name, k, one_request=one_request)
    finally:
        stop_gunicorn(server)
    import sqlite3

    connection = sqlite3.connect(path)
    result.annotations_in_db = connection.execute("SELECT count(*) FROM annotation").fetchone()[0]
    result.max_per_item = connection.execute("SELECT max(n) FROM item").fetchone()[0] or 0
    connection.close()
    return result


def run_serve(
    database_url: str,
    folder: Path,
    *,
    clients: int,
    seconds: float,
    name: str,
    n_items: int,
    k: int,
    workers: int,
    threads: int,
    retrain_every: int,
    warmup: float = 5.0,
    one_request: bool = True,
    worker_nice: int | None = None,
) -> LoadResult:
    """``labeler serve`` (web processes + job worker) against ``database_url``;
    ``worker_nice`` overrides the job worker's niceness (``JOB_WORKER_NICE``)."""
    folder.mkdir(parents=True, exist_ok=True)
    project_id, tokens = prepare(database_url, folder, clients, n_items, k)
    _set_retrain(database_url, project_id, retrain_every)
    port = _free_port()
    env = _clean_env(
        LABELER_DATABASE_URL=database_url,
        LABELER_SECRET_KEY="load",
        LABELER_INSTANCE_PATH=str(folder),
    )
    if worker_nice is not None:
        env["LABELER_JOB_WORKER_NICE"] = str(worker_nice)
    command = [
        *CLI,
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--threads",
        str(threads),
    ]
    server = _spawn(command, env, folder / "serve.log", port)
    try:
        result = drive(port, project_id, tokens, seconds, name, k, warmup, one_request)
    finally:
        stop_gunicorn(server)
    check_database(database_url, project_id, result)
    result.trained = _versions(database_url, project_id)  # type: ignore[attr-defined]
    return result


def _set_retrain(database_url: str, project_id: int, retrain_every: int) -> None:
    from sqlalchemy import create_engine, update

    from labeler.models import Project

    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            update(Project)
            .where(Project.id == project_id)
            .values(retrain_every=retrain_every, min_labels_per_class=5)
        )
    engine.dispose()


def _versions(database_url: str, project_id: int) -> int:
    from sqlalchemy import create_engine, func, select

    from labeler.models import ModelVersion

    engine = create_engine(database_url)
    with engine.connect() as connection:
        n = connection.scalar(
            select(func.count(ModelVersion.id)).where(
                ModelVersion.project_id == project_id, ModelVersion.status != "failed"
            )
        )
    engine.dispose()
    return int(n or 0)


class Cluster:
    """A throwaway PostgreSQL cluster run as the postgres user (as .ci/run does)."""

    def __init__(self) -> None:
        import glob

        binary = shutil.which("initdb") or max(
            glob.glob("/usr/lib/postgresql/*/bin/initdb"), default=None
        )
        if binary is None:
            raise RuntimeError("initdb is not installed")
        self.bin = Path(binary).parent
        self.folder = Path(tempfile.mkdtemp(prefix="labeler-bench-pg-"))
        self.port = _free_port()
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self._run(
            "initdb", "-D", str(self.folder / "data"), "-U", "postgres", "-A", "trust", "--no-sync"
        )
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.folder / "data"),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def remove(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def import_rate(rows: int) -> dict[str, float]:
    """Seconds to import ``rows`` items alone, then ``rows`` items with one label each."""
    import csv

    from benchmarks._common import fresh_app
    from labeler.extensions import db
    from labeler.services.data.import_spec import ColumnMapping
    from labeler.services.data.imports import import_file
    from labeler.services.projects.store import create_project

    app, folder = fresh_app()
    path = folder / "labeled.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "label", "annotator"])
        for i in range(rows):
            writer.writerow([f"id-{i}", f"message {i}: call now", LABELS[i % 2], f"ann{i % 20}"])
    timings = {}
    with app.app_context():
        for name, mapping in (
            ("items", ColumnMapping(id="id", text=("text",))),
            (
                "labeled",
                ColumnMapping(
                    id="id",
                    text=("text",),
                    label="label",
                    annotator="annotator",
                    add_annotators=True,
                ),
            ),
        ):
            project = create_project(f"Import {name}", [{"name": v} for v in LABELS])
            db.session.commit()
            started = time.perf_counter()
            with path.open("rb") as stream:
                import_file(project, stream, "csv", mapping)
            db.session.commit()
            timings[name] = time.perf_counter() - started
        db.engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)
    return timings


def _row(result: LoadResult) -> str:
    trained = getattr(result, "trained", None)
    return (
        f"{result.name:<34} {result.per_second:8.1f}/s  cycle p50 {result.cycle(50):6.1f}"
        f"  p95 {result.cycle(95):7.1f}  worst {max(result.cycles_ms, default=0):7.0f} ms"
        f"  5xx {result.server_errors}  409 {result.conflicts}  acked {result.acknowledged}"
        f" = db {result.annotations_in_db}  max/item {result.max_per_item}"
        + (f"  models {trained}" if trained is not None else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument(
        "--workers", type=int, default=2, help="web processes of the embedded set-up"
    )
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--legacy", action="store_true", help="the former SQLite/PostgreSQL run")
    parser.add_argument("--postgres", default=os.environ.get("LABELER_TEST_DATABASE_URL"))
    args = parser.parse_args()
    if args.legacy:
        args.seconds = args.seconds if args.seconds != 30.0 else 60.0
        args.clients = args.clients if args.clients != 20 else 50
        return legacy_main(args)
    k, folder = 2, Path(tempfile.mkdtemp(prefix="labeler-load-"))
    common = {
        "clients": args.clients,
        "seconds": args.seconds,
        "n_items": args.items,
        "k": k,
        "workers": args.workers,
        "threads": args.threads,
    }
    results: list[LoadResult] = []

    def sqlite(name: str) -> str:
        return f"sqlite:///{folder / name / 'labeler.sqlite'}"

    def row(result: LoadResult) -> LoadResult:
        results.append(result)
        print(_row(result), flush=True)
        return result

    def serve(folder_name: str, name: str, **overrides: Any) -> LoadResult:
        options = {**common, "retrain_every": 0, **overrides}
        return row(run_serve(sqlite(folder_name), folder / folder_name, name=name, **options))

    try:
        bare = row(run_bare(folder / "bare", **common))
        bare_two = row(
            run_bare(folder / "bare2", **common, one_request=False, name="bare, GET next + POST")
        )
        training = serve("train", "labeler serve, training", retrain_every=50)
        # the same with the job worker at the web processes' priority (before JOB_WORKER_NICE)
        training0 = serve(
            "train0", "labeler, training, worker nice 0", retrain_every=50, worker_nice=0
        )
        quiet = serve("quiet", "labeler serve, no training")
        quiet_two = serve("quiet2", "labeler, no training, GET + POST", one_request=False)
        alone = serve("one", "labeler serve, 1 client", clients=1)
        alone_two = serve("one2", "labeler, 1 client, GET + POST", clients=1, one_request=False)
        try:
            import psycopg  # noqa: F401  (the "scale" extra: without it the row is skipped)

            cluster = Cluster()
        except (ImportError, RuntimeError, OSError, subprocess.CalledProcessError) as exc:
            print(f"labeler on gunicorn + PostgreSQL: skipped ({exc})", flush=True)
        else:
            try:
                options = {**common, "workers": 4, "retrain_every": 50}
                row(
                    run_serve(
                        cluster.url, folder / "pg", name="labeler gunicorn+PostgreSQL x4", **options
                    )
                )
            finally:
                cluster.remove()
        timings = import_rate(args.import_rows)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"\n{args.clients} clients, k={k}, {args.seconds:.0f} s each after 5 s warm-up, "
        f"{args.items:,} items; goals (issue 21):"
    )
    print(
        f"  throughput, training on   {training.per_second:7.1f}/s   goal >= 300;"
        f"  {100 * training.per_second / bare.per_second:4.0f}% of bare (goal >= 40%)"
    )
    print(f"  cycle p95, training on    {training.cycle(95):7.1f} ms  goal <= 150")
    print(f"  worst cycle               {max(training.cycles_ms, default=0):7.0f} ms  goal < 1000")
    print(
        f"  p95 training / none       {training.cycle(95) / max(quiet.cycle(95), 1e-9):7.2f}x"
        "   goal <= 1.3"
        f"  (worker nice 0: {training0.cycle(95) / max(quiet.cycle(95), 1e-9):.2f}x,"
        f" {training0.per_second:.1f}/s, worst {max(training0.cycles_ms, default=0):.0f} ms)"
    )
    print(
        f"  one client, cycle p50     {alone.cycle(50):7.1f} ms  goal <= 10"
        f"  (GET next + POST: {alone_two.cycle(50):.1f} ms)"
    )
    print(
        f"  GET next + POST, 20 clients {quiet_two.per_second:5.1f}/s, "
        f"{100 * quiet_two.per_second / bare_two.per_second:.0f}% of bare's same loop"
    )
    rows = args.import_rows
    print(f"  import {rows:,} items alone        {rows / timings['items']:9,.0f} rows/s")
    print(
        f"  import {rows:,} items + 1 label    {rows / timings['labeled']:9,.0f} labels/s"
        "   goal >= 20,000"
    )
    bad = [
        r.name
        for r in results
        if r.server_errors or r.annotations_in_db != r.acknowledged or r.max_per_item > r.k
    ]
    if bad:
        sys.exit(f"FAILED invariants: {bad}")


if __name__ == "__main__":
    main()
