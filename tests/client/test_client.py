"""labeler.client against a live server: imports, frames, models, errors, retries."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from labeler.client import Client, LabelerError
from tests.api.test_models_api import HAM, SPAM

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_client_loads_no_server_code():
    code = (
        "import sys; import labeler.client; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'flask', 'sqlalchemy', 'werkzeug', 'flask_sqlalchemy', 'alembic', 'sklearn'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.fixture
def admin(live_server, tokens) -> Client:
    return Client(live_server, tokens["admin"], progress=False)


def _labeled_frame(n: int) -> pd.DataFrame:
    rows = []
    for i in range(n):
        spam = i % 3 == 0
        text = f"{(SPAM if spam else HAM)[i % 4]} {i}"
        rows.append({"id": f"t{i}", "text": text, "label": "spam" if spam else "ham"})
    frame = pd.DataFrame(rows)
    frame["who"] = ["alice" if i % 2 else "bob" for i in range(n)]
    return frame


MAPPING = {
    "id": "id",
    "text": ["text"],
    "label": "label",
    "annotator": "who",
    "add_annotators": True,  # alice and bob become members of the new project
}


def test_a_frame_imports_in_chunks_and_comes_back_as_a_long_frame(admin):
    project = admin.create_project("Texts", ["ham", "spam"], test_fraction=0.3)
    frame = _labeled_frame(25)
    report = admin.import_items(project["id"], frame, MAPPING, chunk_size=10)
    assert report["rows"] == 25 and report["added"] == 25 and report["annotations_added"] == 25

    labels = admin.annotations(project["id"])
    assert list(labels.columns[:3]) == ["item", "annotator", "label"]
    got = labels.set_index("item")[["annotator", "label"]].sort_index()
    want = frame.set_index("id")[["who", "label"]].rename(columns={"who": "annotator"})
    pd.testing.assert_frame_equal(got, want.sort_index(), check_names=False)

    items = admin.items(project["id"])
    assert len(items) == 25 and set(items["text"]) == set(frame["text"])
    consensus = admin.consensus(project["id"]).set_index("item")
    assert (consensus.loc[want.index, "final_label"] == want["label"]).all()
    again = admin.import_items(project["id"], frame, MAPPING, chunk_size=10)
    assert again["added"] == 0 and again["annotations_unchanged"] == 25


def test_a_csv_file_imports_in_chunks_and_a_bad_line_is_named(admin, tmp_path):
    project = admin.create_project("Files", ["ham", "spam"])
    path = tmp_path / "items.csv"
    frame = _labeled_frame(7)
    frame.loc[3, "text"] = 'two lines,\n"quoted"'
    frame.to_csv(path, index=False)
    report = admin.import_items(project["id"], path, MAPPING, chunk_size=3)
    assert report["added"] == 7 and report["annotations_added"] == 7
    assert 'two lines,\n"quoted"' in set(admin.items(project["id"])["text"])

    frame.loc[5, "label"] = "eggs"  # record 6: the second chunk (records 4-6), its line 3
    frame.to_csv(path, index=False)
    with pytest.raises(LabelerError) as caught:
        admin.import_items(project["id"], path, MAPPING, chunk_size=3)
    assert caught.value.status == 422
    assert "eggs" in str(caught.value) and "chunk starting at record 4" in str(caught.value)


def test_train_predict_promote_and_the_model_frames(admin):
    project = admin.create_project("Model", ["ham", "spam"], test_fraction=0.3)
    admin.import_items(project["id"], _labeled_frame(60), MAPPING)
    job = admin.train(project["id"])
    assert job["status"] == "done", job
    versions = admin.model_versions(project["id"])
    assert len(versions) == 1 and versions.loc[0, "accuracy"] > 0.8
    version_id = int(versions.loc[0, "id"])
    per_class = admin.metrics(project["id"], version_id)
    assert set(per_class.index) == {"ham", "spam"} and "f1" in per_class.columns

    if versions.loc[0, "status"] != "champion":  # not promoted on its own: promote it
        assert admin.promote(project["id"], version_id, reason="test")["champion_id"] == version_id
    assert admin.model_versions(project["id"]).loc[0, "status"] == "champion"
    answers = admin.predict(project["id"], [{"text": SPAM[0]}, {"text": HAM[0]}])
    assert list(answers["label"]) == ["spam", "ham"]
    assert (answers["model_version_id"] == version_id).all()
    assert ((answers["confidence"] > 0.5) & (answers["confidence"] <= 1)).all()
    with pytest.raises(LabelerError) as caught:  # the first champion has none to go back to
        admin.rollback(project["id"], version_id, reason="test")
    assert caught.value.status == 409
    assert "replaced no earlier champion" in str(caught.value)


def test_configure_changes_the_settings_and_a_bad_one_is_named(admin):
    project = admin.create_project("Settings", ["ham", "spam"])
    changed = admin.configure(project["id"], annotations_per_item=3)
    assert changed["annotations_per_item"] == 3
    assert admin.project(project["id"])["annotations_per_item"] == 3
    with pytest.raises(LabelerError) as caught:
        admin.configure(project["id"], annotations_per_item=0)
    assert caught.value.status == 422 and "annotations_per_item" in str(caught.value)
    assert admin.project(project["id"])["annotations_per_item"] == 3


def test_export_writes_a_file(admin, tmp_path):
    project = admin.create_project("Export", ["ham", "spam"])
    admin.import_items(project["id"], _labeled_frame(4), MAPPING)
    target = admin.export(project["id"], tmp_path / "out.csv", view="annotations")
    written = pd.read_csv(target)
    assert sorted(written["external_id"]) == ["t0", "t1", "t2", "t3"]


def test_a_refusal_raises_with_the_servers_message(live_server, tokens):
    alice = Client(live_server, tokens["alice"], progress=False)
    with pytest.raises(LabelerError) as caught:
        alice.create_project("Mine", ["a"])
    assert caught.value.status == 403
    assert "only an admin can create projects" in str(caught.value)
    with pytest.raises(LabelerError) as missing:
        alice.project(999)
    assert missing.value.status == 404


class _Answering(BaseHTTPRequestHandler):
    """A stand-in server's handler: JSON answers, a Retry-After of 0 on a 503, no log."""

    def answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        if status == 503:
            self.send_header("Retry-After", "0")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` on a loopback port for the block; its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


class _Busy(_Answering):
    """Answers 503 with Retry-After twice, then 200; records what it was sent."""

    seen: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        _Busy.seen.append(self.headers["Authorization"])
        if len(_Busy.seen) <= 2:
            self.answer(503, b'{"error": "busy", "detail": "try again"}')
        else:
            self.answer(200, json.dumps({"projects": [{"id": 1, "name": "P"}]}).encode())


@pytest.fixture
def busy_server():
    _Busy.seen = []
    with _serving(_Busy) as url:
        yield url


def test_a_503_is_retried_after_its_retry_after(busy_server):
    projects = Client(busy_server, "lbl_x", progress=False).projects()
    assert list(projects["name"]) == ["P"]
    assert _Busy.seen == ["Bearer lbl_x"] * 3


def test_retries_run_out_into_the_servers_message(busy_server):
    with pytest.raises(LabelerError) as caught:
        Client(busy_server, "lbl_x", retries=1, progress=False).projects()
    assert caught.value.status == 503 and caught.value.detail == "try again"
    assert len(_Busy.seen) == 2


def test_the_client_is_typed_strictly():
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "labeler/client"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout


def _triples(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    return sorted(frame[["item", "annotator", "label"]].itertuples(index=False, name=None))


def test_label_studio_and_prodigy_files_go_in_and_out(admin, tmp_path):
    from tests.conftest import DATA

    project = admin.create_project("Reviews", ["positive", "negative"])
    report = admin.import_format(
        project["id"],
        DATA / "interchange" / "label-studio-sentiment.json",
        "label-studio",
        annotators={"7": "alice"},
        add_annotators=True,
    )
    assert report["added"] == 3 and report["annotations_added"] == 3
    votes = _triples(admin.annotations(project["id"]))
    assert votes == [
        ("101", "alice", "positive"),
        ("101", "bob@example.org", "positive"),
        ("102", "alice", "negative"),
    ]
    out = admin.export_format(project["id"], "prodigy", tmp_path / "answers.jsonl")
    again = admin.create_project("Again", ["positive", "negative"])
    assert (
        admin.import_format(again["id"], out, "prodigy", add_annotators=True)["annotations_added"]
        == 3
    )
    assert _triples(admin.annotations(again["id"])) == votes
    with pytest.raises(LabelerError) as caught:
        admin.import_format(
            again["id"], DATA / "interchange" / "label-studio-sentiment.json", "prodigy"
        )
    assert caught.value.status == 422 and "line 1" in str(caught.value)
    with pytest.raises(LabelerError) as unknown:
        admin.export_format(again["id"], "csv-ish", tmp_path / "x")
    assert unknown.value.status == 404


def test_agreement_figures_and_frames(admin):
    project = admin.create_project("Shared", ["ham", "spam"], annotations_per_item=2)
    frame = _labeled_frame(12)
    second = frame.assign(who="carol")
    second.loc[:2, "label"] = second.loc[:2, "label"].map({"ham": "spam", "spam": "ham"})
    admin.import_items(project["id"], pd.concat([frame, second]), MAPPING)
    figures = admin.agreement(project["id"])["figures"]
    assert figures["n_items"] == 12 and figures["n_annotations"] == 24
    assert -1 <= figures["alpha"]["value"] < 1  # three of twelve items disagree
    by_annotator = admin.agreement_by_annotator(project["id"])
    assert len(by_annotator) == 3  # alice, bob and carol
    by_label = admin.agreement_by_label(project["id"])
    assert len(by_label) == 2


def test_a_labeling_loop_takes_one_request_per_item(admin):
    project = admin.create_project("Loop", ["ham", "spam"])
    frame = _labeled_frame(4)[["id", "text"]]
    admin.import_items(project["id"], frame, {"id": "id", "text": ["text"]})
    (item,) = admin.next_items(project["id"])
    labeled = []
    while item is not None:
        answer = admin.annotate(project["id"], item["id"], "ham", 1.0, next_items=1)
        assert answer["outcome"] == "created"
        labeled.append(item["external_id"])
        item = (answer["next"]["items"] or [None])[0]
    assert sorted(labeled) == ["t0", "t1", "t2", "t3"]
    assert answer["next"]["progress"]["coverage"] == 1.0
    assert "next" not in admin.annotate(project["id"], answer["item"], "spam")  # a change


TEXT = {"id": "id", "text": ["text"]}


def test_projects_of_other_kinds_are_created_and_answered_with_their_values(admin):
    topics = admin.create_project("Topics", ["sports", "politics", "tech"], task_kind="multi_label")
    assert admin.project(topics["id"])["task_kind"] == "multi_label"
    admin.import_items(topics["id"], [{"id": "n1", "text": "Chips and votes"}], TEXT)
    (item,) = admin.next_items(topics["id"])
    assert admin.annotate(topics["id"], item["id"], ["tech", "politics"])["outcome"] == "created"
    (vote,) = admin.annotations(topics["id"]).to_dict("records")
    assert (vote["item"], vote["annotator"]) == ("n1", "admin")
    assert vote["label"] == ["politics", "tech"]  # the value, in the label set's order

    stars = admin.create_project(
        "Stars", [str(p) for p in range(1, 6)], task_kind="rating", label_scale="ordinal"
    )
    assert admin.project(stars["id"])["label_scale"] == "ordinal"
    admin.import_items(stars["id"], [{"id": "f1", "text": "A fine film"}], TEXT)
    (item,) = admin.next_items(stars["id"])
    admin.annotate(stars["id"], item["id"], 4)
    assert admin.annotations(stars["id"])["label"].tolist() == [4]
    with pytest.raises(LabelerError) as caught:
        admin.annotate(stars["id"], item["id"], 9)
    assert caught.value.status == 422


class _RecordingBar:
    """Stands in for tqdm: what each bar was told."""

    made: list[_RecordingBar] = []

    def __init__(self, total, desc, unit, unit_scale):
        self.total, self.desc, self.unit, self.n = total, desc, unit, 0
        _RecordingBar.made.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n):
        self.n += n


def test_imports_draw_a_tqdm_bar_that_ends_full(live_server, tokens, tmp_path, monkeypatch):
    tqdm_auto = pytest.importorskip("tqdm.auto")
    monkeypatch.setattr(tqdm_auto, "tqdm", _RecordingBar)
    _RecordingBar.made = []
    client = Client(live_server, tokens["admin"])  # progress is on by default
    project = client.create_project("Bars", ["ham", "spam"])
    client.import_items(project["id"], _labeled_frame(25), MAPPING, chunk_size=10)
    path = tmp_path / "items.csv"
    _labeled_frame(7).assign(id=lambda f: "f" + f["id"]).to_csv(path, index=False)
    client.import_items(project["id"], path, MAPPING, chunk_size=3)
    rows, file = _RecordingBar.made
    assert (rows.total, rows.n, rows.unit, rows.desc) == (25, 25, "rows", "import")
    assert (file.total, file.n, file.unit) == (path.stat().st_size, path.stat().st_size, "B")
    assert len(client.items(project["id"])) == 32
    quiet = Client(live_server, tokens["admin"], progress=False)
    quiet.import_items(project["id"], _labeled_frame(3), MAPPING)
    assert len(_RecordingBar.made) == 2  # progress=False draws none


def test_the_real_tqdm_bar_is_drawn(live_server, tokens, capsys):
    pytest.importorskip("tqdm")
    client = Client(live_server, tokens["admin"])
    project = client.create_project("Drawn", ["ham", "spam"])
    client.import_items(project["id"], _labeled_frame(12), MAPPING, chunk_size=5)
    assert "12/12" in capsys.readouterr().err


def test_webhooks_are_registered_tested_and_their_log_read(admin):
    from labeler.core.webhook_signature import verify
    from tests.services.test_webhooks import Receiver

    receiver = Receiver([])
    try:
        project = admin.create_project("Hooks", ["ham", "spam"])
        hook = admin.add_webhook(project["id"], receiver.url, ["item.final_label"])
        assert hook["secret"].startswith("whsec_")
        listed = admin.webhooks(project["id"])
        assert listed["url"].tolist() == [receiver.url] and "secret" not in listed.columns
        admin.send_test_event(project["id"], hook["id"])
        log = admin.webhook_deliveries(project["id"], hook["id"])
        assert log[["event", "status", "response_status", "attempts"]].to_dict("records") == [
            {"event": "test", "status": "delivered", "response_status": 200, "attempts": 1}
        ]
        ((_, headers, body, _),) = receiver.seen
        assert verify(
            hook["secret"],
            headers["X-Labeler-Timestamp"],
            body,
            headers["X-Labeler-Signature"],
            time.time(),
        )
        with pytest.raises(LabelerError) as caught:
            admin.add_webhook(project["id"], receiver.url, ["item.eaten"])
        assert caught.value.status == 422 and "unknown events: item.eaten" in str(caught.value)
    finally:
        receiver.close()


def test_retry_after_reads_seconds_and_http_dates():
    from labeler.client.http import retry_after

    now = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC
    assert retry_after("7", now) == 7.0
    assert retry_after("Fri, 15 Jan 2027 08:00:30 GMT", now) == 30.0
    assert retry_after("Fri, 15 Jan 2027 07:00:00 GMT", now) == 0.0  # past: at once
    assert retry_after("soon", now) is None and retry_after("-3", now) is None


class _BusyImport(_Answering):
    """Answers an import's first POST with 503 and Retry-After, the second with 201;
    keeps each request's body."""

    bodies: list[bytes] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        _BusyImport.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        if len(_BusyImport.bodies) == 1:
            self.answer(503, b'{"error": "busy", "detail": null}')
        else:
            self.answer(201, json.dumps({"rows": 3, "added": 3}).encode())


def test_a_file_chunk_refused_with_503_is_sent_again_whole(tmp_path):
    _BusyImport.bodies = []
    path = tmp_path / "items.csv"
    _labeled_frame(3).to_csv(path, index=False)
    with _serving(_BusyImport) as url:
        report = Client(url, "lbl_x", progress=False).import_items(1, path, MAPPING)
    assert report == {"rows": 3, "added": 3}
    # each request has its own multipart boundary: compare what lies between them
    first, second = (body.replace(body.split(b"\r\n", 1)[0], b"--") for body in _BusyImport.bodies)
    assert first == second and b"t2" in first  # the file was rewound, not sent empty
