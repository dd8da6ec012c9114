"""Webhooks: signed deliveries to a receiver on loopback, retries, disabling, the page."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from labeler import jobs
from labeler.core.webhook_signature import verify
from labeler.extensions import db
from labeler.models import Alert, ModelVersion, Project, Webhook, WebhookDelivery, utcnow
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows
from labeler.services.labeling import queue
from labeler.services.learning import modeling
from labeler.services.projects import webhooks
from labeler.services.serving import alerts, monitoring, rollout
from tests.conftest import bearer, make_project, user
from tests.services.test_monitoring import _serve
from tests.serving_helpers import add_version, movie_snippets, sms, sms_project


class Receiver:
    """A loopback HTTP server that answers each POST with the next scripted status."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses, self.seen = list(statuses), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.seen.append((self.path, dict(self.headers), body, time.monotonic()))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(statuses=()):
        made.append(Receiver(list(statuses)))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def fast(app):
    app.config.update(WEBHOOK_BACKOFF_SECONDS=0.05, WEBHOOK_JOB_SECONDS=5)
    return app


def _hook(project_id: int, url: str, events: list[str]) -> tuple[int, str]:
    hook = webhooks.register(db.session.get(Project, project_id), url, events, None)
    db.session.commit()
    return hook.id, hook.secret


def test_a_final_label_is_delivered_signed(fast, project, receiver):
    server = receiver()
    with fast.app_context():
        hook_id, secret = _hook(project, server.url, ["item.final_label"])
        p = db.session.get(Project, project)
        item = queue.next_items(p, user("alice"))[0]
        queue.submit(p, user("alice"), item, "spam")  # k = 1: the label is final
        item_id = item.id
        db.session.commit()  # the delivery job runs once this commits (inline in tests)
        delivery = db.session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts, delivery.response_status) == (
            "delivered",
            1,
            200,
        )
        assert delivery.latency_ms > 0
    ((path, headers, body, _),) = server.seen
    assert path == "/hook" and headers["Content-Type"] == "application/json"
    assert headers["X-Labeler-Event"] == "item.final_label"
    assert verify(
        secret, headers["X-Labeler-Timestamp"], body, headers["X-Labeler-Signature"], time.time()
    )
    assert not verify(
        "whsec_other",
        headers["X-Labeler-Timestamp"],
        body,
        headers["X-Labeler-Signature"],
        time.time(),
    )
    sent = json.loads(body)
    assert sent["event"] == "item.final_label" and sent["project"]["id"] == project
    assert sent["data"]["item_id"] == item_id and sent["data"]["final_label"] == "spam"
    assert "alice" not in body.decode()  # who voted what stays in labeler


def test_the_readme_snippet_verifies_a_delivery(fast, project, receiver):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Webhooks") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    server = receiver()
    with fast.app_context():
        hook_id, secret = _hook(project, server.url, ["item.final_label"])
        webhooks.send_test(db.session.get(Project, project), db.session.get(Webhook, hook_id))
        db.session.commit()
    ((_, headers, body, _),) = server.seen
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - our own README
    assert scope["is_from_labeler"](secret, headers, body) is True
    assert scope["is_from_labeler"](secret, headers, body + b" ") is False


def test_failures_are_retried_with_growing_waits(fast, project, receiver):
    server = receiver([500, 503])
    with fast.app_context():
        hook_id, _ = _hook(project, server.url, ["model.trained"])
        webhooks.send_test(db.session.get(Project, project), db.session.get(Webhook, hook_id))
        db.session.commit()
        delivery = db.session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts, delivery.response_status) == (
            "delivered",
            3,
            200,
        )
        assert db.session.get(Webhook, hook_id).failing_since is None  # a success clears it
    times = [seen[3] for seen in server.seen]
    assert len(times) == 3
    assert times[1] - times[0] >= 0.05 and times[2] - times[1] >= 0.1  # 0.05 s, then doubled
    bodies = {seen[2] for seen in server.seen}
    assert len(bodies) == 1  # every attempt sends the same delivery


def _failing_for_a_day(project, server) -> int:
    """A model.trained hook on ``server`` that has failed for 25 hours, sent one more
    (test) delivery, committed; its id."""
    hook_id, _ = _hook(project, server.url, ["model.trained"])
    hook = db.session.get(Webhook, hook_id)
    hook.failing_since = utcnow() - timedelta(hours=25)
    webhooks.send_test(db.session.get(Project, project), hook)
    db.session.commit()
    return hook_id


def test_a_url_failing_for_a_day_is_disabled_and_the_admins_told(fast, project, receiver):
    server = receiver([500] * 10)
    with fast.app_context():
        hook_id = _failing_for_a_day(project, server)
        hook = db.session.get(Webhook, hook_id)
        assert hook.active is False and "HTTP 500" in hook.disabled_reason
        delivery = db.session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts) == ("failed", 1)
        alert = db.session.scalars(select(Alert).where(Alert.kind == "webhook_disabled")).one()
        assert f"Webhook #{hook_id} was disabled" in alert.message
        assert server.url not in alert.message  # every member sees alerts; the URL is admins'
        webhooks.emit(db.session.get(Project, project), "model.trained", {"version_id": 1})
        db.session.commit()
        assert len(server.seen) == 1  # a disabled URL hears nothing more


def test_an_event_of_a_rolled_back_transaction_is_never_sent(fast, project, receiver):
    server = receiver()
    with fast.app_context():
        _hook(project, server.url, ["model.trained"])
        webhooks.emit(db.session.get(Project, project), "model.trained", {"version_id": 1})
        db.session.rollback()
        assert db.session.scalars(select(WebhookDelivery)).all() == []
        db.session.commit()
    assert server.seen == []


def test_redirects_are_not_followed(fast, project, receiver):
    server = receiver([302, 302, 302, 302, 302, 302, 302])
    fast.config["WEBHOOK_JOB_SECONDS"] = 0
    with fast.app_context():
        hook_id, _ = _hook(project, server.url, ["model.trained"])
        webhooks.send_test(db.session.get(Project, project), db.session.get(Webhook, hook_id))
        db.session.commit()
        delivery = db.session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.response_status) == ("pending", 302)
        assert delivery.next_attempt_at > delivery.last_attempt_at  # a retry is scheduled
    assert [seen[0] for seen in server.seen] == ["/hook"]  # never /elsewhere


def test_the_api_registers_validates_tests_and_logs(client, tokens, project, receiver, fast):
    server = receiver()
    base = f"/api/v1/projects/{project}/webhooks"
    admin = bearer(tokens["admin"])
    bad = client.post(base, json={"url": "ftp://x", "events": ["model.trained"]}, headers=admin)
    assert bad.status_code == 422 and bad.json["detail"] == {"field": "url"}
    bad = client.post(base, json={"url": server.url, "events": ["nope"]}, headers=admin)
    assert bad.status_code == 422 and "nope" in bad.json["error"]
    with fast.app_context():
        assert db.session.scalars(select(Webhook)).all() == []  # refusals change nothing
    made = client.post(base, json={"url": server.url, "events": ["drift.alert"]}, headers=admin)
    assert made.status_code == 201 and made.json["secret"].startswith("whsec_")
    hook_id = made.json["id"]
    listed = client.get(base, headers=admin).json["webhooks"]
    assert [h["url"] for h in listed] == [server.url] and "secret" not in listed[0]
    sent = client.post(f"{base}/{hook_id}/test", headers=admin)
    assert sent.status_code == 202 and sent.json["event"] == "test"
    log = client.get(f"{base}/{hook_id}/deliveries", headers=admin).json["deliveries"]
    assert [(d["event"], d["status"], d["attempts"]) for d in log] == [("test", "delivered", 1)]
    assert client.get(base, headers=bearer(tokens["rita"])).status_code == 403


def test_the_page_adds_a_webhook_and_its_test_button_fills_the_log(
    auth, client, project, receiver, fast
):
    server = receiver()
    auth.login("admin")
    page = f"/projects/{project}/webhooks"
    response = auth.post(
        page, {"url": server.url, "events": ["item.final_label", "export.finished"]}
    )
    assert response.status_code == 302
    with fast.app_context():
        hook = db.session.scalars(select(Webhook)).one()
        assert hook.events == ["item.final_label", "export.finished"]
    auth.post(f"{page}/{hook.id}/test")
    html = client.get(page).get_data(as_text=True)
    assert server.url in html and "Send test event" in html
    assert "<td>delivered</td>" in html and "<td>200</td>" in html and " ms</td>" in html
    assert len(server.seen) == 1
    refused = auth.post(page, {"url": "not a url", "events": ["item.final_label"]})
    assert refused.status_code == 302
    assert "url must be an http" in client.get(page).get_data(as_text=True)


def test_the_retry_command_sends_what_fell_due(fast, project, receiver):
    server = receiver([500])
    fast.config["WEBHOOK_JOB_SECONDS"] = 0  # the job gives up at once; the command retries
    with fast.app_context():
        hook_id, _ = _hook(project, server.url, ["model.trained"])
        webhooks.send_test(db.session.get(Project, project), db.session.get(Webhook, hook_id))
        db.session.commit()
        delivery = db.session.scalars(select(WebhookDelivery)).one()
        assert delivery.status == "pending" and delivery.attempts == 1
    time.sleep(0.06)
    result = fast.test_cli_runner().invoke(args=["retry-webhooks"])
    assert result.exit_code == 0 and "1 delivered" in result.output
    with fast.app_context():
        delivery = db.session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts) == ("delivered", 2)


def test_deleting_a_project_deletes_its_webhooks(auth, client, project, receiver, fast):
    # No deliveries here: their job rows would block deleting the project (as any job does).
    server = receiver()
    with fast.app_context():
        _hook(project, server.url, ["model.trained"])
        name = db.session.get(Project, project).name
    auth.login("admin")
    response = auth.post(f"/projects/{project}/delete", {"confirm_name": name})
    assert response.status_code == 302
    with fast.app_context():
        assert db.session.get(Project, project) is None
        assert db.session.scalars(select(Webhook)).all() == []


def test_the_job_worker_schedules_due_retries_itself_with_growing_waits(
    fast, project, receiver, tmp_path
):
    from labeler.jobs import database
    from labeler.models import Job
    from labeler.services.projects.webhook_delivery import schedule_due_retries
    from tests.conftest import make_app

    server = receiver([500, 500])  # fails twice, then takes it
    fast.config["WEBHOOK_JOB_SECONDS"] = 0  # the delivery job gives up after one attempt
    with fast.app_context():
        hook_id, _ = _hook(project, server.url, ["model.trained"])
        webhooks.send_test(db.session.get(Project, project), db.session.get(Webhook, hook_id))
        db.session.commit()
        assert db.session.scalars(select(WebhookDelivery)).one().attempts == 1
        assert schedule_due_retries() == []  # the retry is not due for 0.05 s
    worker = make_app(
        tmp_path,
        JOB_EXECUTOR="database",
        WEBHOOK_BACKOFF_SECONDS=0.05,
        WEBHOOK_JOB_SECONDS=0,
        WEBHOOK_RETRY_CHECK_SECONDS=0.02,
    )
    stop = threading.Event()
    thread = threading.Thread(target=database.work, args=(worker, stop), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while len(server.seen) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(10)
    with worker.app_context():
        delivery = db.session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts) == ("delivered", 3)
        retries = db.session.scalars(
            select(Job).where(
                Job.kind == webhooks.JOB_KIND, Job.params["reason"].as_string() == "retries due"
            )
        ).all()
        assert len(retries) == 2 and all(job.status == "done" for job in retries)
        db.engine.dispose()
    times = [seen[3] for seen in server.seen]
    # never before its back-off (0.05 s, then 0.1 s): the worker sends only what fell due
    assert times[1] - times[0] >= 0.05 and times[2] - times[1] >= 0.1


def test_a_queued_delivery_job_is_not_doubled(fast, project, receiver):
    from labeler.models import Job
    from labeler.services.projects.webhook_delivery import schedule_due_retries

    server = receiver([500])
    fast.config["WEBHOOK_JOB_SECONDS"] = 0
    with fast.app_context():
        hook_id, _ = _hook(project, server.url, ["model.trained"])
        webhooks.send_test(db.session.get(Project, project), db.session.get(Webhook, hook_id))
        db.session.commit()
        delivery = db.session.scalars(select(WebhookDelivery)).one()
        delivery.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.add(Job(kind=webhooks.JOB_KIND, project_id=project, params={}))
        db.session.commit()  # queued, not yet dispatched: it will send the retry
        assert schedule_due_retries() == []
        assert len(server.seen) == 1


def _sent(server: Receiver) -> list[tuple[str, dict]]:
    """(event, payload) of every POST the receiver got, in arrival order."""
    return [(headers["X-Labeler-Event"], json.loads(body)) for _, headers, body, _ in server.seen]


def test_every_listed_event_is_sent_by_what_causes_it(fast, receiver, monkeypatch):
    """Each event of the list, caused the way an instance causes it (submits, the
    training job, promote and rollback, the monitor job, an export job), reaches a
    receiver subscribed to all of them, signed, naming its project."""
    monkeypatch.setattr(alerts, "LATENCY_P95_ALERT_MS", float("inf"))  # drift alone
    server = receiver()
    with fast.app_context():
        votes = make_project("Votes", n_items=4, k=2)
        model = sms_project(n_items=150)
        db.session.commit()
        secrets = {p.id: _hook(p.id, server.url, list(webhooks.EVENTS))[1] for p in (votes, model)}

        agreed = queue.next_items(votes, user("alice"))[0]
        for name in ("alice", "bob"):  # k = 2, the same answer: final
            queue.submit(votes, user(name), queue.next_items(votes, user(name))[0], "spam")
        db.session.commit()
        tied = queue.next_items(votes, user("alice"))[0]
        queue.submit(votes, user("alice"), tied, "spam")
        queue.submit(votes, user("bob"), queue.next_items(votes, user("bob"))[0], "ham")
        db.session.commit()  # k = 2, a tie: disputed

        labeled = sms().iloc[3000:3150]  # the texts sms_project imported, with their labels
        rows = [
            (i + 1, {"id": f"s{i}", "text": t, "label": label, "who": "alice"})
            for i, (t, label) in enumerate(zip(labeled["text"], labeled["label"], strict=True))
        ]
        mapping = ColumnMapping(id="id", text=("text",), label="label", annotator="who")
        import_rows(model, rows, mapping)
        champion = add_version(model, status="champion")
        db.session.commit()
        trained = modeling.start_training(model)
        assert db.session.get(type(trained), trained.id).status == "done"
        newest = db.session.scalars(
            select(ModelVersion)
            .where(ModelVersion.project_id == model.id)
            .order_by(ModelVersion.id.desc())
        ).first()
        assert newest.id != champion.id
        if model.champion_id != newest.id:  # the policy did not promote it: a person does
            rollout.promote(model, newest, user("admin").id, "better")
            db.session.commit()
        rollout.rollback(model, None, user("admin").id, "complaints")
        db.session.commit()
        assert model.champion_id == champion.id

        _serve(model, movie_snippets()[:300])  # reviews sent to an SMS model: drift
        jobs.start(monitoring.KIND, model.id)
        params = {"view": "items", "format": "csv", "pseudonymize": False, "filters": {}}
        exported = jobs.start("export", model.id, params)
        votes_id, model_id, tied_id, agreed_id = votes.id, model.id, tied.id, agreed.id
        exported_id = exported.id

    for _, headers, body, _ in server.seen:
        project_id = json.loads(body)["project"]["id"]
        assert verify(
            secrets[project_id],
            headers["X-Labeler-Timestamp"],
            body,
            headers["X-Labeler-Signature"],
            time.time(),
        )
    sent = _sent(server)
    assert {event for event, _ in sent} == set(webhooks.EVENTS)
    by_event = {event: [p for e, p in sent if e == event] for event in webhooks.EVENTS}
    finals = [p["data"] for p in by_event["item.final_label"] if p["project"]["id"] == votes_id]
    assert [(d["item_id"], d["final_label"]) for d in finals] == [(agreed_id, "spam")]
    (disputed,) = by_event["item.disputed"]
    assert disputed["project"]["id"] == votes_id and disputed["data"]["item_id"] == tied_id
    for event in ("model.trained", "model.promoted", "model.rolled_back", "drift.alert"):
        assert {p["project"]["id"] for p in by_event[event]} == {model_id}, event
    assert by_event["model.rolled_back"][0]["data"]["reason"] == "complaints"
    assert {p["data"]["kind"] for p in by_event["drift.alert"]} >= {"drift_class_mix"}
    (finished,) = by_event["export.finished"]
    assert finished["data"]["job_id"] == exported_id and finished["data"]["rows"] == 150
    assert "alice" not in b"".join(body for _, _, body, _ in server.seen).decode()


def test_the_admin_is_told_on_the_project_page_and_can_switch_it_back_on(
    auth, client, fast, project, receiver
):
    server = receiver([500])
    with fast.app_context():
        hook_id = _failing_for_a_day(project, server)
    auth.login("admin")
    shown = client.get(f"/projects/{project}").get_data(as_text=True)
    assert f"Webhook #{hook_id} was disabled" in shown
    page = client.get(f"/projects/{project}/webhooks").get_data(as_text=True)
    assert "HTTP 500" in page and "Enable" in page
    assert auth.post(f"/projects/{project}/webhooks/{hook_id}/enable").status_code == 302
    with fast.app_context():
        hook = db.session.get(Webhook, hook_id)
        assert (hook.active, hook.failing_since, hook.disabled_reason) == (True, None, None)
        webhooks.emit(db.session.get(Project, project), "model.trained", {"version_id": 1})
        db.session.commit()
    assert len(server.seen) == 2  # on again: the next event is sent
