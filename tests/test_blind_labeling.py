"""Blind labeling has no side doors: an annotator never learns another person's label.

The walk covers every route of the URL map and every job kind, as an annotator of a
project whose items carry other people's labels, a trained model and finished jobs. A
response fails it when it names another user, or holds one of those items together
with a label (in one JSON object, or one table row or list entry of a page).
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import select

from labeler import jobs
from labeler.extensions import db
from labeler.models import Annotation, Assignment, Item, Job, ModelVersion, Project
from labeler.services.labeling import queue
from labeler.services.learning import modeling
from tests.conftest import bearer, make_project, user

OTHERS = ("bob", "dave", "rita", "carol")  # alice must never see these names
LABELS = ("ham", "spam")


def _label_of(item: Item) -> str:
    return LABELS[int(item.external_id[1:]) % 2]


def _labeled_project() -> dict[str, Any]:
    project = make_project("Blind", n_items=40, k=2, test_fraction=0.3)
    project.min_labels_per_class = 2
    for name in ("bob", "dave"):
        while items := queue.next_items(project, user(name)):
            queue.submit(project, user(name), items[0], _label_of(items[0]))
            if (
                db.session.scalar(
                    select(db.func.count(Annotation.id)).where(Annotation.user_id == user(name).id)
                )
                >= 30
            ):
                break
    db.session.commit()
    modeling.start_training(project, user("admin").id)
    version = db.session.scalars(select(ModelVersion)).first()
    # a finished job of every kind, its result full of other people's labels
    for kind in sorted(jobs.RUNNERS):
        db.session.add(
            Job(
                kind=kind,
                project_id=project.id,
                status="done",
                progress=1.0,
                result={"annotator": "bob", "item": "m1", "label": "spam", "votes": ["bob"]},
                error="bob labeled m1 spam",
            )
        )
    db.session.commit()
    # alice holds an item bob and dave labeled (k = 2... it is started, she is asked next)
    held = queue.next_items(project, user("alice"))[0]
    db.session.commit()
    others = {
        item.external_id: item.data["text"]
        for item in db.session.scalars(select(Item).where(Item.n_annotations > 0))
    }
    return {
        "project_id": project.id,
        "item_id": held.id,
        "user_id": user("bob").id,
        "version_id": version.id if version else 1,
        "others": others,
        "jobs": list(db.session.scalars(select(Job.id))),
    }


def _json_leaks(value: Any, items: dict[str, str], path: str = "$") -> list[str]:
    found = []
    if isinstance(value, dict):
        plain = {k: v for k, v in value.items() if not isinstance(v, dict | list)}
        names = {str(v) for v in plain.values()}
        refers = [x for x in items if x in names or items[x] in names]
        labels = {k for k, v in plain.items() if v in LABELS and k != "my_label"}
        if refers and labels:
            found.append(f"{path}: item {refers[0]} with label field(s) {sorted(labels)}")
        for key, inner in value.items():
            found += _json_leaks(inner, items, f"{path}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _json_leaks(inner, items, f"{path}[{index}]")
    return found


def _html_leaks(page: str, items: dict[str, str]) -> list[str]:
    found = []
    for block in re.findall(r"<(?:tr|li)\b.*?</(?:tr|li)>", page, flags=re.S):
        words = set(re.findall(r"[\w-]+", re.sub(r"<[^>]+>", " ", block)))
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", block))
        refers = [x for x, t in items.items() if x in words or re.search(rf"{t}\b", text)]
        if refers and words & set(LABELS):
            found.append(f"item {refers[0]} shown with a label: {text.strip()[:120]}")
    return found


def _leaks(response, items: dict[str, str]) -> list[str]:
    body = response.get_data(as_text=True)
    found = [f"names {name!r}" for name in OTHERS if re.search(rf"\b{name}\b", body)]
    if response.is_json:
        found += _json_leaks(response.get_json(), items)
    elif "html" in (response.mimetype or ""):
        found += _html_leaks(body, items)
    return found


def _url(rule, ids: dict[str, Any]) -> str:
    values = {key: ids.get(key, 1) for key in rule.arguments}
    return rule.build(values)[1]


def test_an_annotator_learns_no_other_persons_label_from_any_route(app, client, auth, tokens):
    with app.app_context():
        setup = _labeled_project()
        assert db.session.scalar(
            select(Assignment.id).where(Assignment.user_id == user("alice").id)
        )
        ids = {**setup, "job_id": setup["jobs"][0], "import_job_id": setup["jobs"][0]}
        ids["token_id"] = 1
    auth.login("alice")
    csrf = auth.csrf()
    rules = sorted(
        (r for r in app.url_map.iter_rules() if r.endpoint != "static"),
        key=lambda r: r.endpoint == "auth.logout",
    )
    failures = []
    for rule in rules:
        if rule.endpoint == "auth.logout":
            continue
        url = _url(rule, ids)
        for method in sorted(rule.methods & {"GET", "POST", "PATCH"}):
            api = rule.endpoint.startswith("api.")
            kwargs: dict[str, Any] = (
                {"headers": bearer(tokens["alice"]), "json": {}}
                if api and method != "GET"
                else {"headers": bearer(tokens["alice"])}
                if api
                else {"data": {"csrf_token": csrf}}
                if method != "GET"
                else {}
            )
            response = client.open(url, method=method, **kwargs)
            failures += [f"{method} {url}: {leak}" for leak in _leaks(response, setup["others"])]
            response.close()
    assert not failures, "\n".join(failures)


def test_no_job_kind_shows_its_result_to_an_annotator(app, client, tokens):
    with app.app_context():
        setup = _labeled_project()
        kinds = {job.id: job.kind for job in db.session.scalars(select(Job))}
        project = db.session.get(Project, setup["project_id"])
        assert {kinds[j] for j in setup["jobs"]} >= set(jobs.RUNNERS)
        assert project.champion_id is None or project.champion_id > 0
    for job_id, kind in kinds.items():
        as_annotator = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(tokens["alice"]))
        assert as_annotator.status_code == 200, kind
        body = as_annotator.json
        assert body["status"] and body["result"] is None and body["error"] is None, kind
        assert not _leaks(as_annotator, setup["others"]), kind
        as_reviewer = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(tokens["rita"]))
        assert as_reviewer.json["result"] is not None, kind  # the reviewer sees it all
    # the example from the report: the agreement figures themselves are refused
    refused = client.get(
        f"/api/v1/projects/{setup['project_id']}/agreement", headers=bearer(tokens["alice"])
    )
    assert refused.status_code == 403
    assert json.dumps(refused.json).count("bob") == 0
