"""``labeler serve``: gunicorn's multi-process server, plus a supervised job worker.

Why gunicorn and not a pure-Python threaded server (waitress): under one interpreter
a single GIL serves every request, so on a 2-core machine threads cap labeler at one
core; gunicorn's worker processes use them all, and it is small (pure Python, one
dependency) and well kept. It needs ``fork``: on Windows run labeler under WSL.

Each web worker builds its own app after the fork from ``labeler.wsgi`` (no preload:
forked connection pools would share sockets). Jobs never run in a web worker: they
wait in the job table (``LABELER_JOB_EXECUTOR=database``) for the one job worker
process (``labeler worker --database``) that this module starts, restarts if it dies,
and stops with the server. That worker runs at a lower CPU priority (``JOB_WORKER_NICE``,
10 by default): when annotators keep both cores busy, a training or scoring job takes
the time their requests leave instead of half of it (``benchmarks/bench_load.py``
prints both). A deployment that configured RQ keeps its own workers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from typing import Any

import click
from flask import Flask

WORKER_COMMAND = [sys.executable, "-c", "from labeler.cli.main import main; main()", "worker"]
STOP_GRACE_SECONDS = 10.0  # for the job worker to finish a job before it is killed


def default_workers() -> int:
    """Web worker processes: one per core, at least 2 (a slow request never blocks all)."""
    return max(2, min(os.cpu_count() or 1, 8))


def child_environment(app: Flask) -> dict[str, str]:
    """What a web or job worker needs to build the same app as this command did."""
    env = dict(os.environ)
    env["LABELER_INSTANCE_PATH"] = app.instance_path
    env["LABELER_DATABASE_URL"] = app.config["SQLALCHEMY_DATABASE_URI"]
    env["LABELER_SECRET_KEY"] = app.config["SECRET_KEY"]
    if app.config.get("DEMO"):
        env["LABELER_DEMO"] = "true"
    if app.config.get("JOB_EXECUTOR") != "rq":
        env["LABELER_JOB_EXECUTOR"] = "database"
    return env


def job_worker_nice(app: Flask) -> int:
    """``JOB_WORKER_NICE`` as a niceness, checked before anything starts: a bad value
    would otherwise make every job worker exit at its start, and the supervisor restart
    it once a second while no job ever runs.

    Raises:
        click.ClickException: not a whole number from 0 to 19.
    """
    value = app.config["JOB_WORKER_NICE"]
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 0 <= int(text) <= 19:
        raise click.ClickException(
            f"JOB_WORKER_NICE (LABELER_JOB_WORKER_NICE) must be a whole number from 0 to 19, "
            f"got {value!r}"
        )
    return int(text)


class JobWorkerSupervisor:
    """Keeps one ``labeler worker --database`` process alive beside the web workers."""

    def __init__(self, env: dict[str, str], nice: int = 0) -> None:
        self.env = env
        self.nice = nice
        self.process: subprocess.Popen[bytes] | None = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="labeler-job-supervisor")
        self.thread.daemon = True
        self.restarts = 0

    def start(self) -> None:
        self._spawn()
        self.thread.start()

    def _spawn(self) -> None:
        # --fail-running: a job the previous worker was running will never finish.
        command = [*WORKER_COMMAND, "--database", "--fail-running", "--nice", str(self.nice)]
        self.process = subprocess.Popen(command, env=self.env)

    def _watch(self) -> None:
        while not self.stopping.is_set():
            assert self.process is not None
            code = self.process.wait()
            if self.stopping.is_set():
                return
            click.echo(f"labeler: the job worker exited ({code}); restarting it", err=True)
            self.restarts += 1
            time.sleep(1.0)  # a worker that dies at start must not spin the CPU
            if not self.stopping.is_set():
                self._spawn()

    def signal_stop(self) -> None:
        """Ask the job worker to stop after its job (while the web workers stop too)."""
        self.stopping.set()
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()

    def stop(self) -> None:
        self.signal_stop()
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


ACCEPT_DEFER_SECONDS = 0.002  # a worker's pause per connection it holds past its threads
ACCEPT_DEFER_MAX_SECONDS = 0.02


def balanced_thread_worker() -> type:
    """gunicorn's threaded worker, except that a worker which already holds a
    connection per thread lets the other workers take a new connection first.

    Every worker polls the one listening socket, and a worker accepts whatever it sees
    as fast as it can: clients that connect at once and keep their connections alive
    could all land on one process, which then served them on one core under one GIL
    while the other process idled (20 clients: 230-270 labels/s in about half the runs,
    360-470/s when they were shared; benchmarks/README.md, issue 21, ninth look). The
    pause grows by ``ACCEPT_DEFER_SECONDS`` with each connection held past that count,
    up to ``ACCEPT_DEFER_MAX_SECONDS``: a worker busy importing on its first requests
    (its poller waits for the GIL) still gets its share. It delays only the first
    request of a new connection, and only in a worker that is serving many."""
    from gunicorn.workers.gthread import ThreadWorker

    class BalancedThreadWorker(ThreadWorker):  # type: ignore[misc]
        def accept(self, listener: Any) -> None:
            past = self.nr_conns - self.cfg.threads + 1
            if past > 0:  # the other workers' pollers see the connection too
                time.sleep(min(ACCEPT_DEFER_SECONDS * past, ACCEPT_DEFER_MAX_SECONDS))
            super().accept(listener)

    return BalancedThreadWorker


def run(app: Flask, host: str, port: int, workers: int, threads: int) -> None:
    """Serve until SIGTERM or Ctrl+C: ``workers`` processes of ``threads`` threads each."""
    from gunicorn.app.base import BaseApplication

    env = child_environment(app)
    supervisor = (
        JobWorkerSupervisor(env, nice=job_worker_nice(app))
        if env.get("LABELER_JOB_EXECUTOR") == "database"
        else None
    )

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            settings: dict[str, Any] = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": balanced_thread_worker(),
                "threads": threads,
                "timeout": 120,
                "graceful_timeout": 10,
                "accesslog": None,
                "loglevel": "warning",
                "on_starting": lambda _arbiter: supervisor and supervisor.start(),
                "on_exit": lambda _arbiter: supervisor and supervisor.stop(),
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def run(self) -> None:
            from gunicorn.arbiter import Arbiter

            class SupervisingArbiter(Arbiter):  # type: ignore[misc]
                def stop(self, graceful: bool = True) -> None:
                    if supervisor:  # both stop at once: each takes seconds on a busy machine
                        supervisor.signal_stop()
                    super().stop(graceful)

                def halt(self, reason: str | None = None, exit_status: int = 0) -> None:
                    try:
                        super().halt(reason, exit_status)
                    except SystemExit as done:  # workers stopped, job worker too: leave now,
                        sys.stdout.flush()  # without seconds of tearing down numpy & co.
                        sys.stderr.flush()
                        os._exit(done.code if isinstance(done.code, int) else 1)

            SupervisingArbiter(self).run()

        def load(self) -> Any:
            # In each web worker, after the fork: the app the WSGI entry point builds.
            from gunicorn.util import import_app

            return import_app("labeler.wsgi:app")

    os.environ.update(env)  # the web workers build their app from these
    click.echo(
        f"labeler is serving on http://{host}:{port}/  ({workers} processes x {threads} "
        f"threads{', jobs in a worker process' if supervisor else ''}; Ctrl+C to stop)"
    )
    Server().run()
