"""Where one next + submit cycle spends its time, in process (issue 21).

Drives ``--cycles`` label cycles of one annotator with a token through the Flask
test client (no WSGI server, no socket), on a project of ``--items`` items with k = 2,
and prints per phase the time per cycle and its share: SQL (every statement, timed from
the driver's cursor events), token and project lookups, the queue's pick and lease,
recording the label, the consensus refresh, the commit, JSON encoding, and what is left
(Flask routing, request hooks, flask-smorest, the test client). It also prints the
statements per request. The WSGI server's share is what ``bench_load.py``'s one-client
cycle adds on top of the in-process total.

    python benchmarks/bench_request_phases.py                 # 2,000 cycles, 20,000 items
    python benchmarks/bench_request_phases.py --cycles 300
    python benchmarks/bench_request_phases.py --loop two      # GET next, then POST the label
    python benchmarks/bench_request_phases.py --repo /work/main   # another checkout's code

Besides wall time it prints the process's CPU time per cycle (``time.process_time``): on
a shared machine the wall time follows the other processes' load, the CPU time much less.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _repo_from_argv() -> Path:
    """``--repo DIR``: import labeler (and its benchmarks' helpers) from DIR, so two
    checkouts are measured by the same script, taking turns."""
    if "--repo" in sys.argv:
        return Path(sys.argv[sys.argv.index("--repo") + 1]).resolve()
    return REPO


sys.path.insert(0, str(_repo_from_argv()))

# (label, the profiled function's file suffix and name): cumulative time of each
PHASES = (
    ("token lookup", "labeler/auth.py", "user_for_token"),
    ("project + role", "labeler/auth.py", "project_and_role"),
    # the API leases with lease_next (next_items wraps it: naming both would count twice)
    ("queue: pick + lease", "labeler/services/labeling/queue.py", "lease_next"),
    ("submit (record, count)", "labeler/services/labeling/queue.py", "submit"),
    ("submit (record, count)", "labeler/services/labeling/queue_submit.py", "submit"),
    ("  of it: consensus refresh", "labeler/services/labeling/labels.py", "refresh_item"),
    ("commit", "sqlalchemy/orm/scoping.py", "commit"),
    ("commit", "labeler/db_engine.py", "commit_keeping_loaded"),  # GET /next, submit + next
    ("JSON response", "labeler/web/json_provider.py", "response"),
)


def _time_the_write_turn(sql: dict) -> dict:
    """Count the CPU time and statements between taking the write turn and ending it:
    while one request holds it, every writer of every process waits, so this part of
    the cycle is what 20 annotators cannot do at once."""
    from labeler import db_engine

    turn = {"cpu": 0.0, "statements": 0, "turns": 0}
    take, end = db_engine._take_writer_turn, db_engine._end_writer_turn

    def timed_take(info, database=None):
        take(info, database)
        info["phases.turn"] = (time.thread_time(), sql["statements"])

    def timed_end(info):
        began = info.pop("phases.turn", None)
        end(info)
        if began is not None:
            turn["cpu"] += time.thread_time() - began[0]
            turn["statements"] += sql["statements"] - began[1]
            turn["turns"] += 1

    db_engine._take_writer_turn, db_engine._end_writer_turn = timed_take, timed_end
    return turn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=2000)
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--dump", help="also write the profile to this file (pstats)")
    parser.add_argument("--repo", help="the checkout whose labeler is measured (default: this)")
    parser.add_argument("--plain", type=int, default=500, help="unprofiled cycles timed")
    parser.add_argument(
        "--loop",
        choices=("form", "two"),
        default="form",
        help="form: a submit that leases the next item (one request a label, as the form "
        "labels); two: GET next then POST the label",
    )
    args = parser.parse_args()
    from sqlalchemy import event

    from benchmarks.bench_load import prepare
    from labeler import create_app
    from labeler.extensions import db

    folder = Path(__import__("tempfile").mkdtemp(prefix="labeler-phases-"))
    url = f"sqlite:///{folder / 'labeler.sqlite'}"
    project_id, (token,) = prepare(url, folder, 1, args.items, 2)
    app = create_app({"SECRET_KEY": "phases", "INSTANCE_PATH": str(folder), "DATABASE_URL": url})
    with app.app_context():
        engine = db.engine
    sql = {"seconds": 0.0, "statements": 0}

    def before(conn, *_args):
        conn.info["phase_started"] = time.perf_counter()

    def after(conn, *_args):
        sql["seconds"] += time.perf_counter() - conn.info.pop("phase_started")
        sql["statements"] += 1

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    turn = _time_the_write_turn(sql)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    leased: list[int] = []  # the form's loop: what the last submit leased

    def cycles(n: int) -> None:
        for i in range(n):
            if not leased or args.loop == "two":
                item = client.get(f"/api/v1/projects/{project_id}/next", headers=headers)
                leased[:] = [item.json["items"][0]["id"]]
            answer = {"label": ("ham", "spam")[i % 2], "seconds": 1.0}
            if args.loop == "form":
                answer["next"] = 1
            response = client.post(
                f"/api/v1/projects/{project_id}/items/{leased.pop()}/annotation",
                json=answer,
                headers=headers,
            )
            assert response.status_code == 201, response.json
            if args.loop == "form":
                leased[:] = [item["id"] for item in response.json["next"]["items"]]

    cycles(50)  # warm-up: imports, caches, the token's last_used_at write
    sql.update(seconds=0.0, statements=0)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    cycles(args.cycles)
    profiler.disable()
    total = time.perf_counter() - started
    if args.dump:
        profiler.dump_stats(args.dump)
    profile = pstats.Stats(profiler)
    stats = profile.stats  # type: ignore[attr-defined]
    per_cycle = 1000 * total / args.cycles
    loop = "one request a label" if args.loop == "form" else "GET next + POST"
    print(f"{args.cycles:,} cycles ({loop}), {args.items:,} items, k=2, in process (profiled)")
    print(f"  total                      {per_cycle:7.2f} ms/cycle  100%")
    # deterministic, unlike any time on a shared machine: the Python work of a cycle
    calls = profile.total_calls / args.cycles  # type: ignore[attr-defined]
    print(f"  Python function calls      {calls:7.0f} per cycle")
    print(
        f"  SQL ({sql['statements'] / args.cycles:.1f} statements)       "
        f"{1000 * sql['seconds'] / args.cycles:7.2f} ms/cycle  "
        f"{100 * sql['seconds'] / total:3.0f}%   (inside the phases below)"
    )
    seconds_of = {}
    for label, suffix, name in PHASES:  # a phase that moved module is named twice
        seconds_of[label] = seconds_of.get(label, 0.0) + sum(
            value[3]
            for (path, _line, function), value in stats.items()
            if function == name and path.endswith(suffix)
        )
    for label, seconds in seconds_of.items():
        share = 100 * seconds / total
        print(f"  {label:<26} {1000 * seconds / args.cycles:7.2f} ms/cycle  {share:3.0f}%")
    # the same cycles without the profiler's overhead
    sql.update(seconds=0.0, statements=0)
    started, cpu = time.perf_counter(), time.process_time()
    cycles(args.plain)
    plain = 1000 * (time.perf_counter() - started) / args.plain
    cpu = 1000 * (time.process_time() - cpu) / args.plain
    print(f"  unprofiled cycle           {plain:7.2f} ms/cycle  (wall, {args.plain} cycles)")
    print(f"  unprofiled cycle, CPU      {cpu:7.2f} ms/cycle  (this process's CPU time)")
    print(f"  unprofiled SQL             {1000 * sql['seconds'] / args.plain:7.2f} ms/cycle")
    turn.update(cpu=0.0, statements=0, turns=0)
    cycles(args.plain)
    print(
        f"  inside the write turn      {1000 * turn['cpu'] / args.plain:7.2f} ms/cycle CPU, "
        f"{turn['statements'] / args.plain:.1f} statements, {turn['turns'] / args.plain:.1f} "
        "turns (every other writer waits meanwhile)"
    )
    with app.app_context():
        db.engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
