"""The write turn between processes (``db_engine._ProcessTurn``): a writer waiting for
another process's turn is woken when it ends, gives up at its deadline, and a writer
that gave up leaves nothing locked behind it.

"Another process" is a second open file description of the lock file in this one:
flock locks of two descriptions conflict as those of two processes do.
"""

from __future__ import annotations

import fcntl
import os
import threading

import pytest
from sqlalchemy.exc import OperationalError

from labeler import db_engine


@pytest.fixture
def other(tmp_path):
    database = str(tmp_path / "labeler.sqlite")
    descriptor = os.open(database + "-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        yield database, descriptor
    finally:
        os.close(descriptor)


def _free(descriptor: int) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    fcntl.flock(descriptor, fcntl.LOCK_UN)
    return True


def test_a_free_turn_is_taken_and_given_back(other):
    database, descriptor = other
    info: dict = {}
    db_engine._take_writer_turn(info, database)
    assert not _free(descriptor)  # the other process would wait
    db_engine._end_writer_turn(info)
    assert _free(descriptor)
    assert "labeler.writer_turn" not in info


def test_a_writer_waits_for_the_other_process_and_takes_the_turn_when_it_ends(other):
    database, descriptor = other
    fcntl.flock(descriptor, fcntl.LOCK_EX)  # the other process writes
    info: dict = {}
    got = threading.Event()
    writer = threading.Thread(
        target=lambda: (db_engine._take_writer_turn(info, database), got.set())
    )
    writer.start()
    try:
        assert not got.wait(0.3)  # waiting
        fcntl.flock(descriptor, fcntl.LOCK_UN)  # its transaction ends
        assert got.wait(10)
        assert not _free(descriptor)  # the turn is this process's now
    finally:
        writer.join(10)
        db_engine._end_writer_turn(info)
    assert _free(descriptor)


def test_a_writer_gives_up_at_its_deadline_and_leaves_nothing_locked(other, monkeypatch):
    database, descriptor = other
    monkeypatch.setattr(db_engine, "WRITER_WAIT_SECONDS", 0.3)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    info: dict = {}
    with pytest.raises(OperationalError, match="no write turn"):
        db_engine._take_writer_turn(info, database)
    assert "labeler.writer_turn" not in info
    fcntl.flock(descriptor, fcntl.LOCK_UN)
    # the waiting thread takes the lock for the writer that gave up, and drops it: the
    # next writer here gets the turn, and after it the other process does
    again: dict = {}
    db_engine._take_writer_turn(again, database)
    db_engine._end_writer_turn(again)
    for _ in range(100):  # the drop happens on the waiting thread, soon after
        if _free(descriptor):
            break
        threading.Event().wait(0.05)
    assert _free(descriptor)


def test_writers_of_one_process_take_turns_one_at_a_time(other):
    """Eight threads, each adding to a counter inside its turn in two steps: with the
    turn held by one at a time, no step of one interleaves with another's."""
    database, _ = other
    counter = {"value": 0, "inside": 0, "overlaps": 0}

    def write() -> None:
        for _ in range(50):
            info: dict = {}
            db_engine._take_writer_turn(info, database)
            try:
                counter["inside"] += 1
                if counter["inside"] > 1:
                    counter["overlaps"] += 1
                value = counter["value"]
                threading.Event().wait(0.0005)
                counter["value"] = value + 1
                counter["inside"] -= 1
            finally:
                db_engine._end_writer_turn(info)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert counter["value"] == 400 and counter["overlaps"] == 0


@pytest.mark.parametrize("ending", ["commit", "rollback"])
def test_a_writer_s_transaction_is_over_before_its_turn_ends(tmp_path, monkeypatch, ending):
    """SQLAlchemy's commit and rollback events come before the driver's call. The turn
    must not end there: the next writer's BEGIN IMMEDIATE would meet a COMMIT still to
    come, get SQLITE_BUSY and sleep in SQLite's busy handler, holding the turn."""
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{tmp_path / 'labeler.sqlite'}")
    db_engine._configure_sqlite(engine)
    with engine.begin() as setup:
        setup.execute(text("CREATE TABLE t (x INTEGER)"))
    writer = engine.connect().execution_options(immediate=True)
    seen = []
    end = db_engine._end_writer_turn

    def ending_turn(info):
        if "labeler.writer_turn" in info:
            seen.append(writer.connection.driver_connection.in_transaction)
        end(info)

    monkeypatch.setattr(db_engine, "_end_writer_turn", ending_turn)
    transaction = writer.begin()
    writer.execute(text("INSERT INTO t VALUES (1)"))
    getattr(transaction, ending)()
    writer.close()
    assert seen == [False]  # the driver's transaction had ended when the turn did
    with engine.connect() as reader:
        stored = reader.execute(text("SELECT count(*) FROM t")).scalar_one()
    assert stored == (1 if ending == "commit" else 0)
    engine.dispose()
