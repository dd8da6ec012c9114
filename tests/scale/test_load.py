"""Load, bounded and on loopback only: 50 annotators against gunicorn for 15 s.

The benchmark (benchmarks/bench_load.py) runs the same for 60 s and prints the rates;
here the point is the invariants under concurrency: no 5xx, every acknowledged
label in the database exactly once, no item past k. On SQLite always; on
PostgreSQL (4 gunicorn workers) when LABELER_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import os

import pytest

from benchmarks.bench_load import create_postgres_database, run_load

pytest.importorskip("gunicorn")
SECONDS = float(os.environ.get("LABELER_LOAD_SECONDS", "15"))


def _check(result) -> None:
    print(f"\n{result.line()}")
    assert result.server_errors == 0, result.statuses
    assert result.measured > 0, result.statuses
    assert result.annotations_in_db == result.acknowledged
    assert result.max_per_item <= result.k


def test_50_annotators_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'labeler.sqlite'}"
    _check(
        run_load(
            url,
            tmp_path,
            workers=1,
            clients=50,
            seconds=SECONDS,
            name="SQLite, 1 process",
            n_items=5000,
        )
    )


@pytest.mark.postgres
def test_50_annotators_on_postgres_with_4_workers(tmp_path):
    server = os.environ.get("LABELER_TEST_DATABASE_URL")
    if not server:
        pytest.skip("set LABELER_TEST_DATABASE_URL to a PostgreSQL server (.ci/run does)")
    url, drop = create_postgres_database(server)
    try:
        _check(
            run_load(
                url,
                tmp_path,
                workers=4,
                clients=50,
                seconds=SECONDS,
                name="PostgreSQL, 4 workers",
                n_items=5000,
            )
        )
    finally:
        drop()
