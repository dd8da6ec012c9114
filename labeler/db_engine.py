"""Engine set-up per database: SQLite gets WAL, foreign keys and real transactions.

pysqlite opens transactions lazily and only as DEFERRED, so two annotators could
both read an item as free and both lease it. We take over BEGIN ourselves and let
a unit of work ask for ``BEGIN IMMEDIATE`` (one writer at a time, readers still
run under WAL). PostgreSQL needs none of this: the queue uses SKIP LOCKED there.

Writers queue instead of failing: on SQLite a transaction that has read cannot start
writing once another connection has committed, and that fails at once ("database is
locked"), whatever the busy timeout. So every transaction of a request that may write
(any method but GET, HEAD and OPTIONS, unless its view is marked :func:`reads_only`)
begins as ``BEGIN IMMEDIATE``, which waits its turn for up to the busy timeout.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from labeler.extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
View = TypeVar("View", bound=Callable[..., Any])


def reads_only(view: View) -> View:
    """Mark a POST view that writes nothing (a prediction), so it never waits for writers."""
    view.labeler_reads_only = True  # type: ignore[attr-defined]
    return view


def writes(view: View) -> View:
    """Mark a GET view that writes (leasing the next item), so its request begins as a
    write transaction at once: no read transaction to throw away, nothing to load twice."""
    view.labeler_writes = True  # type: ignore[attr-defined]
    return view


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)
            app.before_request(_note_write_request)


def _note_write_request() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if request.method in SAFE_METHODS:
        g.labeler_writes = getattr(view, "labeler_writes", False)
        return
    g.labeler_writes = not getattr(view, "labeler_reads_only", False)


def _in_write_request() -> bool:
    return has_request_context() and bool(g.get("labeler_writes"))


def in_write_request() -> bool:
    """Whether this request's transactions begin as writes (SQLite, a request that may
    write): what it reads before its first statement in the turn may be stale by then."""
    return _in_write_request()


@contextmanager
def reads_before_writing() -> Iterator[None]:
    """Run the block's reads before the request's write transaction (SQLite, a request
    that writes): who is asking (the token or the session, and its user) needs no write
    turn, and while one request holds the turn every other writer waits, so what it does
    before taking the turn costs the others nothing.

    Each read runs on its own (autocommit: no BEGIN, a snapshot per statement). What the
    block loaded stays loaded (its end commits nothing and expires nothing); the
    request's next statement begins its write transaction as before. Elsewhere (a read
    request, PostgreSQL, outside requests) the block runs as it would without this.
    """
    if not _in_write_request():
        yield
        return
    g.labeler_reads_first = True
    try:
        yield
    finally:
        g.labeler_reads_first = False
    commit_keeping_loaded()  # an autocommit "transaction": nothing to expire


def commit_keeping_loaded() -> None:
    """Commit the session's transaction (if one is open) without expiring what it
    loaded: the request answers from those objects without reading them again. On
    SQLite a write request's turn ends here; read on in :func:`reads_before_writing`,
    or the next statement takes the turn again."""
    session = db.session()
    if not session.in_transaction():
        return
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        # The busy timeout is the driver's connect timeout (30 s, set in create_app).
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if has_request_context() and g.get("labeler_reads_first"):
            return  # reads_before_writing: each statement its own read (autocommit)
        immediate = conn.get_execution_options().get("immediate", False) or _in_write_request()
        if not immediate:
            conn.exec_driver_sql("BEGIN")
            return
        _take_writer_turn(conn.info, conn.engine.url.database)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _end_writer_turn(conn.info)
            raise

    # SQLAlchemy calls these listeners before the driver's COMMIT (or ROLLBACK). Ending
    # the turn there let the next writer's BEGIN IMMEDIATE meet our COMMIT still to
    # come: SQLite answered it "busy", and its busy handler slept a millisecond or more
    # while that writer held the turn and every other writer waited. So a writer's
    # transaction ends here, inside its turn; the driver's call after it finds none open
    # and does nothing (pysqlite commits or rolls back only an open transaction).
    @event.listens_for(engine, "commit")
    def _on_commit(conn: Connection) -> None:
        _end_transaction_then_turn(conn, "commit")

    @event.listens_for(engine, "rollback")
    def _on_rollback(conn: Connection) -> None:
        _end_transaction_then_turn(conn, "rollback")

    @event.listens_for(engine, "reset")
    def _on_reset(_dbapi_connection: Any, record: Any, _state: Any) -> None:
        _end_writer_turn(record.info)  # back to the pool mid-transaction (an error)

    @event.listens_for(engine, "invalidate")
    def _on_invalidate(_dbapi_connection: Any, record: Any, _exception: Any) -> None:
        _end_writer_turn(record.info)


# One writer per process at a time, queued on a lock. SQLite's own busy handler makes a
# waiting writer sleep in steps of up to 100 ms, so 16 threads contending for the write
# lock left it idle most of the time (20 annotators got less done than one). Threads now
# wait on this lock, woken the moment the writer before them ends. Between processes
# (`labeler serve`'s web workers and its job worker) the thread holding the turn then
# takes an flock on a file beside the database; when another process holds it, a
# thread of this process blocks in flock for it (:class:`_ProcessTurn`), so the kernel
# wakes it the moment that turn ends. Polling the flock instead (every 0.2-1 ms) left
# gaps between turns and let the process that had just written take the next turn
# again and again: 20 clients labeled 103.5/s polling against 122.0/s this way, the
# mean of six interleaved pairs (benchmarks/README.md, issue 21, sixth pass).
_WRITER = threading.Lock()
WRITER_WAIT_SECONDS = 30.0  # as long as SQLite's busy timeout; then a 503
_LOCK_FILES: dict[tuple[int, str], int] = {}  # (pid, database path) -> descriptor
_PROCESS_TURNS: dict[tuple[int, int], _ProcessTurn] = {}  # (pid, descriptor) -> its taker


def _timed_out() -> OperationalError:
    return OperationalError(
        "BEGIN IMMEDIATE",
        {},
        sqlite3.OperationalError("database is locked (no write turn within 30 s)"),
    )


def _lock_file(database: str | None) -> int | None:
    """This process's descriptor of the database's writer lock file (None: in memory).

    Opened per process: a descriptor inherited across a fork shares its lock."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    key = (os.getpid(), database)
    if key not in _LOCK_FILES:
        _LOCK_FILES[key] = os.open(database + "-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
    return _LOCK_FILES[key]


class _ProcessTurn:
    """This process's way to the writer lock file's flock, for one writer at a time
    (callers hold ``_WRITER``).

    A free lock is taken at once. Otherwise a thread of its own blocks in ``flock`` (the
    kernel wakes it when the holder unlocks) while the writer waits on a condition with
    its deadline; a writer that gives up leaves the lock to be dropped the moment the
    thread gets it. While that thread is inside ``flock`` every writer goes through it:
    a second ``flock`` on the same descriptor would be granted along with it.
    """

    def __init__(self, descriptor: int) -> None:
        self.descriptor = descriptor
        self.state = threading.Condition(threading.Lock())
        self.wanted = False  # a writer waits for the lock
        self.granted = False  # the thread took it for that writer
        self.taking = False  # the thread is inside flock
        self.thread: threading.Thread | None = None

    def take(self, deadline: float) -> None:
        with self.state:
            if not self.taking:
                try:
                    fcntl.flock(self.descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    pass
            self.wanted, self.granted = True, False
            if self.thread is None:
                self.thread = threading.Thread(
                    target=self._take_for_writers, name="labeler-writer-turn", daemon=True
                )
                self.thread.start()
            self.state.notify_all()
            while not self.granted:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.wanted = False  # the thread drops the lock when it comes
                    raise _timed_out()
                self.state.wait(remaining)
            self.granted = False  # the lock is the caller's now

    def _take_for_writers(self) -> None:
        while True:
            with self.state:
                while not self.wanted:
                    self.state.wait()
                self.taking = True
            fcntl.flock(self.descriptor, fcntl.LOCK_EX)  # blocks without the GIL
            with self.state:
                self.taking = False
                if self.wanted:
                    self.wanted, self.granted = False, True
                    self.state.notify_all()
                else:  # its writer gave up meanwhile
                    fcntl.flock(self.descriptor, fcntl.LOCK_UN)


def _take_process_turn(descriptor: int, deadline: float) -> None:
    key = (os.getpid(), descriptor)  # a forked child has none of its parent's threads
    turn = _PROCESS_TURNS.get(key)
    if turn is None:
        turn = _PROCESS_TURNS[key] = _ProcessTurn(descriptor)
    turn.take(deadline)


def _take_writer_turn(info: dict[str, Any], database: str | None = None) -> None:
    deadline = time.monotonic() + WRITER_WAIT_SECONDS
    if not _WRITER.acquire(timeout=WRITER_WAIT_SECONDS):
        raise _timed_out()
    try:
        descriptor = _lock_file(database)
        if descriptor is not None:
            _take_process_turn(descriptor, deadline)
    except BaseException:
        _WRITER.release()
        raise
    info["labeler.writer_turn"] = -1 if descriptor is None else descriptor


def _end_transaction_then_turn(conn: Connection, how: str) -> None:
    """COMMIT or ROLLBACK a writer's transaction on the driver, then end its turn. A
    failure is left to SQLAlchemy's own call right after (it tries again, and raises it
    as the usual wrapped error); the turn ends either way, as it did before."""
    if "labeler.writer_turn" in conn.info:
        with suppress(sqlite3.Error):
            getattr(conn.connection.driver_connection, how)()
    _end_writer_turn(conn.info)


def _end_writer_turn(info: dict[str, Any]) -> None:
    descriptor = info.pop("labeler.writer_turn", None)
    if descriptor is None:
        return
    if descriptor >= 0:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
    _WRITER.release()


def begin_write() -> None:
    """Start the session's transaction as a write transaction (SQLite: IMMEDIATE).

    Call it at the start of a unit of work that reads then writes shared rows
    (leasing an item, submitting a label). Anything read before is discarded, unless the
    transaction open now is a write already (SQLite: a request that began as one), whose
    reads stay valid: no writer can have committed since it began.
    """
    session = db.session()
    if session.in_transaction() and "labeler.writer_turn" in session.connection().info:
        return
    db.session.rollback()
    db.session.connection(execution_options={"immediate": True})


def run_core(statement: Any, parameters: Any = None) -> Any:
    """Execute a Core statement (on tables, not mapped classes) on the session's
    connection, inside its transaction, and return the Core result.

    ``db.session.execute`` takes every statement through the ORM's execute path first
    (plugins, bind lookup, for a DML statement on a mapped class the in-session
    synchronization that evaluates its WHERE against every loaded object); for a
    statement that loads no objects that path is pure overhead, and inside the write
    turn every other writer waits for it. Measured in process on the submit + next
    cycle (benchmarks/README.md, issue 21, ninth look)."""
    return db.session.connection().execute(statement, parameters)


def is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"
