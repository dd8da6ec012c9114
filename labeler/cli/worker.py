"""``labeler worker``: processes that run every kind of job, from Redis (RQ) or, with
``--database``, from the job table (the embedded default, :mod:`labeler.jobs.database`).

All job kinds share one queue (``labeler``); a worker imports every runner module
(:data:`labeler.jobs.RUNNER_MODULES`) when it builds its app, so any worker can run
any job. Start as many as the machine has cores for training, on as many machines
as share the database, Redis and the artifact folder.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import time
from collections.abc import Callable

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo, with_appcontext


@click.command("worker")
@click.option(
    "--database",
    "from_database",
    is_flag=True,
    help="Run the jobs queued in the database (the embedded default, no Redis; "
    "`labeler serve` starts one) instead of Redis's.",
)
@click.option(
    "--fail-running",
    is_flag=True,
    help="With --database: first mark jobs left running by a stopped worker as failed "
    "(only when this is the database's one worker).",
)
@click.option("--count", default=1, show_default=True, help="Worker processes to fork.")
@click.option("--burst", is_flag=True, help="Exit once the queue is empty (tests, cron).")
@click.option(
    "--import",
    "imports",
    multiple=True,
    metavar="MODULE",
    help="Also import MODULE, which registers more job runners (repeatable).",
)
@click.option(
    "--maintenance-interval",
    default=60,
    show_default=True,
    help="Seconds between checks for jobs whose worker died.",
)
@click.option(
    "--nice",
    "niceness",
    default=0,
    show_default=True,
    type=click.IntRange(0, 19),
    help="Lower this worker's CPU priority by this much first, so jobs yield to the web "
    "processes on a shared machine (`labeler serve` uses JOB_WORKER_NICE, 10).",
)
@with_appcontext
def worker_command(
    from_database: bool,
    fail_running: bool,
    count: int,
    burst: bool,
    imports: tuple[str, ...],
    maintenance_interval: int,
    niceness: int,
) -> None:
    """Run jobs from Redis (LABELER_REDIS_URL), or with --database from the database,
    until stopped with Ctrl+C or SIGTERM."""
    if niceness:
        os.nice(niceness)  # forked workers (--count) inherit it
    if imports:
        os.environ["LABELER_WORKER_IMPORTS"] = ",".join(imports)
    if from_database:
        _import_extra()
        _run_database(current_app._get_current_object(), burst, fail_running)  # type: ignore[attr-defined]
        return
    from labeler.jobs import rq

    rq.APP_FACTORY = _app_factory(click.get_current_context())
    url = current_app.config.get("REDIS_URL")
    rq.connect(url).ping()  # fail here, with the URL in the message, not in a fork
    _import_extra()
    if count <= 1:
        _run_one(url, burst, maintenance_interval)
        return
    _supervise(count, lambda: _run_one(url, burst, maintenance_interval), respawn=not burst)


def _app_factory(ctx: click.Context) -> Callable[[], Flask]:
    """Build each job's app the way this command's own app was built (``labeler`` or
    ``flask --app …``): a fresh ScriptInfo loads a fresh app every call."""
    info = ctx.ensure_object(ScriptInfo)
    return lambda: ScriptInfo(
        app_import_path=info.app_import_path, create_app=info.create_app
    ).load_app()


def _import_extra() -> None:
    for module in filter(None, os.environ.get("LABELER_WORKER_IMPORTS", "").split(",")):
        importlib.import_module(module)


def _run_database(app: Flask, burst: bool, fail_running: bool) -> None:
    """The embedded default's job worker: jobs queued in the job table, one at a time.

    The first SIGTERM or Ctrl+C stops it after the job it is running; a second, at once.
    """
    import threading

    from labeler import jobs
    from labeler.jobs import database

    # Jobs that jobs start (a consensus refresh before training) go to the table too.
    app.config["JOB_EXECUTOR"] = "database"
    app.extensions["labeler.jobs"] = jobs.DatabaseExecutor(app)
    if fail_running:
        reason = "the job worker stopped while running this job; the previous model keeps serving"
        failed = database.fail_interrupted(reason)
        if failed:
            click.echo(f"labeler worker: marked {failed} interrupted job(s) failed", err=True)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        if stop.is_set():
            raise SystemExit(1)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    click.echo(f"labeler worker: running jobs from the database (pid {os.getpid()})", err=True)
    database.work(app, stop, burst=burst)
    if stop.is_set():  # stopped by a signal: the server is shutting down
        from labeler.extensions import db

        db.session.remove()
        db.engine.dispose()
        # Nothing is left to flush or close: skip tearing down scikit-learn, pandas and
        # numpy, which takes seconds on a busy machine and delays the server's shutdown.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _run_one(url: str, burst: bool, maintenance_interval: int) -> None:
    from labeler.jobs.rq import QUEUE_NAME, LabelerWorker, connect

    connection = connect(url)
    worker = LabelerWorker(
        [QUEUE_NAME],
        connection=connection,
        maintenance_interval=maintenance_interval,
        job_monitoring_interval=10,
    )
    worker.work(burst=burst, logging_level="INFO")


def _supervise(count: int, target, respawn: bool) -> None:
    """Fork ``count`` children running ``target``; restart any that dies; stop them all on
    SIGTERM/SIGINT."""
    children: set[int] = set()
    stopping = False

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            try:
                target()
            finally:
                os._exit(0)
        children.add(pid)

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                children.discard(pid)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(count):
        spawn()
    click.echo(f"labeler worker: {count} processes {sorted(children)}", err=True)
    while children:
        try:
            pid, _status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        children.discard(pid)
        if respawn and not stopping:
            time.sleep(1)  # a worker that dies at start must not spin the CPU
            spawn()
    sys.exit(0)
