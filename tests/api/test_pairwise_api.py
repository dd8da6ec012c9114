"""Pairwise projects through the API: import with a field mapping, the order shown,
votes stored in A/B terms."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Annotation, Item, Project
from labeler.services.projects.store import set_member
from tests.conftest import bearer, user

MAPPING = {
    "id": "id",
    "text": ["question", "response_a", "response_b"],
    "meta": ["system_a", "system_b"],
}


def _pairs(n: int) -> list[dict[str, str]]:
    return [
        {"id": f"p{i}", "question": f"How do I sort list {i}?",
         "response_a": f"Use sorted(xs) — answer A{i}\n    indented <b>code</b>",
         "response_b": f"Write a loop — answer B{i}", "system_a": "alpha", "system_b": "beta"}
        for i in range(n)
    ]  # fmt: skip


def make_pairwise(client, tokens, app, n: int = 6, k: int = 2) -> int:
    created = client.post(
        "/api/v1/projects",
        json={
            "name": "Answers",  # no label set: a pairwise answer is A, B, tie or both bad
            "task_kind": "pairwise",
            "task_settings": {"both_bad": True, "fields": {"prompt": "question"}},
            "annotations_per_item": k,
            "test_fraction": 0.0,
        },
        headers=bearer(tokens["admin"]),
    )
    assert created.status_code == 201, created.json
    project_id = created.json["id"]
    if n:
        imported = client.post(
            f"/api/v1/projects/{project_id}/items",
            json={"mapping": MAPPING, "items": _pairs(n)},
            headers=bearer(tokens["admin"]),
        )
        assert imported.status_code == 201 and imported.json["added"] == n
    with app.app_context():
        project = db.session.get(Project, project_id)
        for name in ("alice", "bob", "carol"):
            set_member(project, user(name), "annotator")
        db.session.commit()
    return project_id


def test_an_item_without_a_response_b_stops_the_import_and_names_line_and_column(
    client, tokens, app
):
    project_id = make_pairwise(client, tokens, app, n=1)
    rows = _pairs(3)
    rows[2]["response_b"] = "  "
    refused = client.post(
        f"/api/v1/projects/{project_id}/items",
        json={"mapping": MAPPING, "items": rows},
        headers=bearer(tokens["admin"]),
    )
    assert refused.status_code == 422
    assert "line 3" in refused.json["error"] and "'response_b'" in refused.json["error"]
    assert "needs a response b" in refused.json["error"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Item.id))) == 1  # nothing more was added


FILE_MAPPING = {"id": "id", "text": ["ask", "left_answer", "right_answer"],
                "meta": ["made_by_a", "made_by_b"]}  # fmt: skip
ROLES = {"prompt": "ask", "response_a": "left_answer", "response_b": "right_answer",
         "system_a": "made_by_a", "system_b": "made_by_b"}  # fmt: skip


def _upload(client, tokens, project_id, content: bytes, name: str):
    return client.post(
        f"/api/v1/projects/{project_id}/items",
        data={"file": (io.BytesIO(content), name), "mapping": json.dumps(FILE_MAPPING)},
        headers=bearer(tokens["admin"]),
        content_type="multipart/form-data",
    )


def test_pairs_import_from_csv_and_jsonl_files_through_a_mapping_of_their_own_names(
    client, tokens, app
):
    created = client.post(
        "/api/v1/projects",
        json={"name": "Files", "task_kind": "pairwise", "task_settings": {"fields": ROLES},
              "annotations_per_item": 1, "test_fraction": 0.0},
        headers=bearer(tokens["admin"]),
    )  # fmt: skip
    project_id = created.json["id"]
    csv_file = (
        b"id,ask,left_answer,right_answer,made_by_a,made_by_b\n"
        b'c1,"Sum, please?","def f(xs):\n    return sum(xs)",a loop,big,small\n'
        b"c2,Sort?,sorted(xs),bubble sort,big,small\n"
    )
    jsonl_file = "".join(
        json.dumps({"id": f"j{i}", "ask": f"Q{i}?", "left_answer": f"good {i}",
                    "right_answer": f"bad {i}", "made_by_a": "small", "made_by_b": "big"}) + "\n"
        for i in range(3)
    ).encode()  # fmt: skip
    assert _upload(client, tokens, project_id, csv_file, "pairs.csv").json["added"] == 2
    assert _upload(client, tokens, project_id, jsonl_file, "pairs.jsonl").json["added"] == 3
    # a row without its second response stops the file at that line, naming the column
    broken = b"id,ask,left_answer,right_answer,made_by_a,made_by_b\nc3,Q?,yes,,big,small\n"
    refused = _upload(client, tokens, project_id, broken, "broken.csv")
    assert refused.status_code == 422 and "'right_answer'" in refused.json["error"]
    assert "line" in refused.json["error"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Item.id))) == 5
        set_member(db.session.get(Project, project_id), user("alice"), "annotator")
        db.session.commit()
    headers, base = bearer(tokens["alice"]), f"/api/v1/projects/{project_id}"
    seen = {}
    while items := client.get(f"{base}/next", headers=headers).json["items"]:
        item = items[0]
        shown = item["presentation"]
        seen[item["external_id"]] = shown
        # the response written first in the file (A) wins every pair
        saved = client.post(f"{base}/items/{item['id']}/annotation",
                            json={"value": "A"}, headers=headers)  # fmt: skip
        assert saved.status_code == 201
    assert seen["c1"]["prompt"] == "Sum, please?"
    assert "def f(xs):\n    return sum(xs)" in (seen["c1"]["left"], seen["c1"]["right"])
    assert {seen["j2"]["left"], seen["j2"]["right"]} == {"good 2", "bad 2"}
    ranking = client.get(f"{base}/ranking", headers=bearer(tokens["admin"])).json
    wins = {row["system"]: row["wins"] for row in ranking["systems"]}
    assert wins == {"big": 2.0, "small": 3.0} and ranking["n_comparisons"] == 5


def test_each_annotator_sees_a_stable_random_order_and_votes_are_stored_as_a_or_b(
    client, tokens, app
):
    project_id = make_pairwise(client, tokens, app, n=6, k=3)
    base = f"/api/v1/projects/{project_id}"
    orders = {}
    for name in ("alice", "bob", "carol"):
        headers = bearer(tokens[name])
        for _ in range(6):
            item = client.get(f"{base}/next", headers=headers).json["items"][0]
            shown = item["presentation"]
            assert shown["prompt"].startswith("How do I sort list")
            left_is_a = shown["left"].startswith("Use sorted")
            assert shown["shown"] == ("AB" if left_is_a else "BA")
            assert "<b>code</b>" in (shown["left"] + shown["right"])  # raw text; the page escapes
            again = client.get(f"{base}/items/{item['id']}", headers=headers).json["presentation"]
            assert again == shown  # a reload shows the same order
            orders[(name, item["id"])] = shown["shown"]
            # Everyone prefers the response on the left: stored in A/B terms.
            choice = "A" if left_is_a else "B"
            saved = client.post(
                f"{base}/items/{item['id']}/annotation",
                json={"value": {"choice": choice}},
                headers=headers,
            )
            assert saved.status_code == 201, saved.json
            assert saved.json["value"] == {"choice": choice, "shown": shown["shown"]}
    assert len(set(orders.values())) == 2  # both orders were drawn
    with app.app_context():
        annotations = db.session.scalars(select(Annotation))
        stored = {(a.user_id, a.item_id): (a.label, a.value) for a in annotations}
        assert len(stored) == 18
        for (name, item_id), shown in orders.items():
            label, value = stored[(user(name).id, item_id)]
            assert label == shown[0] and value["shown"] == shown


def test_an_answer_that_contradicts_the_order_shown_is_refused(client, tokens, app):
    project_id = make_pairwise(client, tokens, app, n=2)
    base = f"/api/v1/projects/{project_id}"
    headers = bearer(tokens["alice"])
    item = client.get(f"{base}/next", headers=headers).json["items"][0]
    other = "BA" if item["presentation"]["shown"] == "AB" else "AB"
    refused = client.post(
        f"{base}/items/{item['id']}/annotation",
        json={"value": {"choice": "A", "shown": other}},
        headers=headers,
    )
    assert refused.status_code == 422 and refused.json["detail"]["field"] == "shown"
    bad = client.post(
        f"{base}/items/{item['id']}/annotation",
        json={"value": {"choice": "both_good"}},
        headers=headers,
    )
    assert bad.status_code == 422 and bad.json["detail"]["field"] == "choice"
    both_bad = client.post(
        f"{base}/items/{item['id']}/annotation", json={"value": "both_bad"}, headers=headers
    )
    assert both_bad.status_code == 201 and both_bad.json["label"] == "both_bad"
    with app.app_context():
        assert db.session.scalar(select(func.count(Annotation.id))) == 1


def _vote_all(client, tokens, project_id, name, decide):
    """``name`` votes on every pair it is served; ``decide(external_id, presentation)``
    gives the choice in A/B terms."""
    base = f"/api/v1/projects/{project_id}"
    headers = bearer(tokens[name])
    while items := client.get(f"{base}/next", headers=headers).json["items"]:
        item = items[0]
        choice = decide(item["external_id"], item["presentation"])
        saved = client.post(
            f"{base}/items/{item['id']}/annotation", json={"value": choice}, headers=headers
        )
        assert saved.status_code == 201, saved.json


def test_ranking_order_effects_and_preference_pairs_come_from_the_final_votes(client, tokens, app):
    project_id = make_pairwise(client, tokens, app, n=0, k=1)
    rows = [
        {"id": f"q{i}", "question": f"q{i}", "response_a": f"a{i}", "response_b": f"b{i}",
         "system_a": a, "system_b": b}
        for i, (a, b) in enumerate(
            [("alpha", "beta")] * 4 + [("gamma", "beta")] * 3 + [("alpha", "gamma")] * 2
        )
    ]  # fmt: skip
    admin = bearer(tokens["admin"])
    base = f"/api/v1/projects/{project_id}"
    assert client.post(f"{base}/items", json={"mapping": MAPPING, "items": rows},
                       headers=admin).status_code == 201  # fmt: skip
    # beta loses every game; alpha beats gamma once, they tie once; q0 is a tie too.
    plan = {"q0": "tie", "q7": "A", "q8": "tie"}
    left_votes = []

    def decide(external_id, presentation):
        beta_is_b = rows[int(external_id[1:])]["system_b"] == "beta"
        choice = plan.get(external_id) or ("A" if beta_is_b else "B")
        if choice != "tie":
            left_votes.append(presentation["shown"][0] == choice)
        return {"choice": choice}

    _vote_all(client, tokens, project_id, "alice", decide)
    ranking = client.get(f"{base}/ranking", headers=admin).json
    order = [row["system"] for row in ranking["systems"]]
    assert order == ["alpha", "gamma", "beta"] and ranking["n_comparisons"] == 9
    assert ranking["systems"][0]["wins"] == 4.0 and ranking["systems"][2]["losses"] == 6.0
    rates = ranking["win_rates"]
    assert rates["alpha"]["gamma"] == 0.75 and rates["beta"]["gamma"] == 0.0
    assert all(row["low"] <= row["strength"] <= row["high"] for row in ranking["systems"])
    davidson = client.get(f"{base}/ranking?ties=davidson", headers=admin).json
    assert davidson["ties"] == "davidson" and davidson["tie_parameter"] > 0
    assert [row["system"] for row in davidson["systems"]][-1] == "beta"
    bad = client.get(f"{base}/ranking?ties=thirds", headers=admin)
    assert bad.status_code == 422 and bad.json["detail"]["field"] == "ties"
    table = client.get(f"{base}/ranking?format=csv", headers=admin)
    lines = table.get_data(as_text=True).splitlines()
    assert table.mimetype == "text/csv" and lines[0].startswith("rank,system,strength,low,high")
    assert lines[1].split(",")[:2] == ["1", "alpha"] and len(lines) == 4

    effects = client.get(f"{base}/order-effects", headers=admin).json["annotators"]
    alice = next(row for row in effects if row["annotator"] == "alice")
    assert alice["n_decided"] == len(left_votes) == 7  # two ties carry no side
    assert alice["left_share"] == pytest.approx(sum(left_votes) / 7)
    assert alice["expected"] == 0.5 and alice["a_share"] == 1.0  # every decided vote went to A

    pairs = client.get(f"{base}/preference-pairs", headers=admin)
    records = [json.loads(line) for line in pairs.get_data(as_text=True).splitlines()]
    assert pairs.mimetype == "application/x-ndjson" and len(records) == 7
    first = next(r for r in records if r["id"] == "q1")
    assert (first["prompt"], first["chosen"], first["rejected"]) == ("q1", "a1", "b1")
    assert (first["system_chosen"], first["system_rejected"]) == ("alpha", "beta")
    assert first["margin"] == 1.0 and first["agreement"] == 1.0 and first["n_votes"] == 1
    [vote] = first["votes"]
    assert vote["annotator"] == "alice" and vote["choice"] == "A" and vote["shown"] in ("AB", "BA")
    gamma = next(r for r in records if r["id"] == "q4")
    assert (gamma["chosen"], gamma["system_chosen"]) == ("a4", "gamma")
    with_ties = client.get(f"{base}/preference-pairs?include_ties=1", headers=admin)
    tied = [json.loads(line) for line in with_ties.get_data(as_text=True).splitlines()]
    assert len(tied) == 9 and {r["choice"] for r in tied if r["margin"] == 0.0} == {"tie"}
    maybe = client.get(f"{base}/preference-pairs?include_ties=maybe", headers=admin)
    assert maybe.status_code == 422 and maybe.json["detail"]["field"] == "include_ties"


def test_the_ranking_page_shows_systems_win_rates_and_position_bias(client, tokens, app, auth):
    project_id = make_pairwise(client, tokens, app, n=4, k=1)
    _vote_all(client, tokens, project_id, "alice", lambda _id, shown: {"choice": shown["shown"][0]})
    auth.login("admin")
    page = client.get(f"/projects/{project_id}/ranking").get_data(as_text=True)
    assert 'id="systems"' in page and "<td>alpha</td>" in page and 'id="win-rates"' in page
    assert "<td>alice</td><td>4</td><td>1.00</td><td>0.50</td><td>+2.0</td>" in page
    assert 'id="ranking-link"' in client.get(f"/projects/{project_id}").get_data(as_text=True)


def test_a_single_label_project_has_no_ranking(client, tokens, project):
    refused = client.get(f"/api/v1/projects/{project}/ranking", headers=bearer(tokens["admin"]))
    assert refused.status_code == 422 and refused.json["detail"]["field"] == "task_kind"


def test_the_ranking_page_of_a_single_label_project_says_it_has_none(client, auth, project):
    auth.login("admin")
    page = client.get(f"/projects/{project}/ranking")
    assert page.status_code == 200 and "a single_label project has none" in page.get_data(
        as_text=True
    )
    assert 'id="ranking-link"' not in client.get(f"/projects/{project}").get_data(as_text=True)


def test_a_split_pair_goes_to_review_and_the_reviewer_picks_a_or_b(client, tokens, app, auth):
    project_id = make_pairwise(client, tokens, app, n=1, k=2)
    with app.app_context():
        set_member(db.session.get(Project, project_id), user("rita"), "reviewer")
        db.session.commit()
    _vote_all(client, tokens, project_id, "alice", lambda _id, _shown: {"choice": "A"})
    _vote_all(client, tokens, project_id, "bob", lambda _id, _shown: {"choice": "B"})
    with app.app_context():
        item = db.session.scalar(select(Item))
        assert item.disputed and item.final_label is None
        item_id = item.id
    auth.login("rita")
    page = client.get(f"/projects/{project_id}/review/{item_id}").get_data(as_text=True)
    assert 'value="B"' in page and "B better" in page and "both bad" in page
    assert 'value="unused"' not in page  # the label set is not what a pair is answered with
    decided = auth.post(f"/projects/{project_id}/review/{item_id}/decide", {"label": "B"})
    assert decided.status_code == 302
    with app.app_context():
        item = db.session.get(Item, item_id)
        assert (item.final_label, item.final_value, item.final_source) == (
            "B",
            {"choice": "B"},
            "adjudicated",
        )


def test_the_annotations_export_shows_every_vote_with_the_order_shown(client, tokens, app):
    project_id = make_pairwise(client, tokens, app, n=3, k=2)
    served = {}

    def decide(external_id, presentation):
        served[external_id] = presentation["shown"]
        return {"choice": "B"}

    _vote_all(client, tokens, project_id, "alice", decide)
    admin = bearer(tokens["admin"])
    base = f"/api/v1/projects/{project_id}/export?view=annotations"
    rows = [
        json.loads(line)
        for line in client.get(f"{base}&format=jsonl", headers=admin)
        .get_data(as_text=True)
        .split("\n")
        if line
    ]
    assert {r["external_id"]: r["value"] for r in rows} == {
        external_id: f"B@{shown}" for external_id, shown in served.items()
    }
    header = client.get(f"{base}&format=csv", headers=admin).get_data(as_text=True).splitlines()[0]
    assert header.endswith(",seconds,value")


def test_a_pairwise_project_needs_no_label_set_from_the_api_the_cli_or_the_form(
    client, tokens, app, auth
):
    project_id = make_pairwise(client, tokens, app, n=0)
    shown = client.get(f"/api/v1/projects/{project_id}", headers=bearer(tokens["admin"]))
    assert shown.status_code == 200 and shown.json["labels"] == []
    refused = client.post(
        "/api/v1/projects",
        json={"name": "Mail", "task_kind": "single_label"},
        headers=bearer(tokens["admin"]),
    )
    assert refused.status_code == 422 and "at least one label" in refused.json["error"]
    runner = app.test_cli_runner()
    made = runner.invoke(args=["project", "create", "Duel", "--kind", "pairwise"])
    assert made.exit_code == 0, made.output
    unlabeled = runner.invoke(args=["project", "create", "Plain"])
    assert unlabeled.exit_code == 1 and "at least one label" in unlabeled.output
    auth.login("admin")
    page = auth.post(
        "/admin/projects/new",
        data={
            "name": "Arena",
            "task_kind": "pairwise",
            "labels": "",
            "annotations_per_item": "2",
            "test_fraction": "0.2",
            "task_settings": "",
        },
    )
    assert page.status_code == 302, page.data[-600:]
    with app.app_context():
        names = {p.name: p for p in db.session.scalars(select(Project))}
        assert names["Duel"].labels == [] and names["Arena"].labels == []
        assert names["Arena"].task_kind == "pairwise" and "Plain" not in names


def test_the_ranking_page_says_when_a_model_has_learnt_only_length(client, tokens, app, auth):
    from labeler.models import ModelVersion

    project_id = make_pairwise(client, tokens, app, n=0)
    with app.app_context():
        for agrees, accuracy in ((0.55, 0.81), (0.96, 0.62)):
            db.session.add(
                ModelVersion(
                    project_id=project_id,
                    status="candidate",
                    estimator="preference",
                    n_labels=40,
                    train_label_counts={},
                    metrics={
                        "accuracy": accuracy,
                        "longer_response_accuracy": 0.6,
                        "agrees_with_length": agrees,
                        "n_test": 20,
                    },
                    baseline_metrics={},
                )
            )
        db.session.commit()
    auth.login("admin")
    page = client.get(f"/projects/{project_id}/ranking").get_data(as_text=True)
    table = page[page.index('id="length-agreement"') :]
    rows = table.split("<tr data-length-only=")[1:]
    # newest first: the version that sides with the longer response 96% of the time is flagged
    assert rows[0].startswith('"yes"') and "96%" in rows[0] and "mostly length" in rows[0]
    assert rows[1].startswith('"no"') and "55%" in rows[1] and "mostly length" not in rows[1]
    auth.login("alice")  # annotators see no model internals
    assert client.get(f"/projects/{project_id}/ranking").status_code == 403


def _trained(app, better_is_longer: bool):
    """A pairwise project of 120 pairs, 80 voted on by two who agree, trained once:
    (metrics, baselines, status, project id) of its one model version. The better
    response is the longer one, or the shorter."""
    from labeler.models import ModelVersion
    from labeler.services.data.import_spec import ColumnMapping
    from labeler.services.data.imports import import_rows
    from labeler.services.labeling import queue
    from labeler.services.learning import modeling
    from labeler.services.projects.store import create_project

    rng = np.random.default_rng(5)
    with app.app_context():
        project = create_project(
            "Trained pairs", [], task_kind="pairwise", test_fraction=0.3,
            annotations_per_item=2, random_share=0.0, sampling_strategy="least_confident",
        )  # fmt: skip
        rows, answers = [], {}
        for i in range(120):
            a_wins = bool(rng.random() < 0.5)
            padding = " ".join(rng.choice(["here", "now"], 3))
            right, wrong = "use sorted which is correct", f"use a loop which is broken {padding}"
            if better_is_longer:
                right, wrong = f"use sorted which is correct {padding}", "use a loop, broken"
            rows.append((i + 1, {"id": f"x{i}", "prompt": f"sort list {i}?",
                                 "response_a": right if a_wins else wrong,
                                 "response_b": wrong if a_wins else right}))  # fmt: skip
            answers[f"x{i}"] = "A" if a_wins else "B"
        texts = ("prompt", "response_a", "response_b")
        import_rows(project, rows, ColumnMapping(id="id", text=texts))
        for name in ("alice", "bob"):
            set_member(project, user(name), "annotator")
        db.session.commit()
        for _ in range(80):
            item = queue.next_items(project, user("alice"))[0]
            for name in ("alice", "bob"):
                queue.submit(project, user(name), item, answers[item.external_id])
        db.session.commit()
        modeling.start_training(project)
        version = db.session.scalars(
            select(ModelVersion).where(ModelVersion.project_id == project.id)
        ).one()
        return version.metrics, version.baseline_metrics, version.status, project.id


def test_the_ranking_page_shows_a_trained_models_metrics_baselines_and_human_level(
    client, app, auth
):
    metrics, baselines, status, project_id = _trained(app, better_is_longer=False)
    # the longer response is always the worse one: the model beats that baseline and serves
    assert baselines["longer_response"]["accuracy"] == 0.0
    assert metrics["accuracy"] > baselines["majority_side"]["accuracy"]
    assert status == "champion", metrics["notes"]
    auth.login("admin")
    page = client.get(f"/projects/{project_id}/ranking").get_data(as_text=True)
    row = page[page.index('id="length-agreement"') :].split("<tr data-length-only=")[1]
    row = row[: row.index("</tr>")]
    expected = {
        "model-accuracy": metrics["accuracy"],
        "log-loss": metrics["log_loss"],
        "calibration-error": metrics["calibration"]["expected_calibration_error"],
        "longer-accuracy": 0.0,
        "majority-side-accuracy": baselines["majority_side"]["accuracy"],
        "human-level": metrics["hlp"]["overall"],
    }
    for cell, value in expected.items():
        assert f'<td class="{cell}">{value:.2f}</td>' in row, (cell, row)
    assert metrics["hlp"]["overall"] == 1.0  # both annotators gave every pair the same answer


def test_the_export_page_offers_preference_pairs_and_the_ranking_of_a_pairwise_project(
    client, tokens, app, auth, project
):
    project_id = make_pairwise(client, tokens, app, n=4, k=1)
    plan = {"p0": "tie", "p1": "both_bad"}
    _vote_all(client, tokens, project_id, "alice", lambda i, _shown: plan.get(i, "A"))
    auth.login("admin")
    page = client.get(f"/projects/{project_id}/export").get_data(as_text=True)
    links = dict(re.findall(r'id="(preference-pairs[-a-z]*|ranking-[a-z]+)" href="([^"]+)"', page))
    assert set(links) == {
        "preference-pairs",
        "preference-pairs-ties",
        "ranking-csv",
        "ranking-json",
    }
    for name, ids in (("preference-pairs", {"p2", "p3"}),
                      ("preference-pairs-ties", {"p0", "p1", "p2", "p3"})):  # fmt: skip
        body = client.get(links[name].replace("&amp;", "&")).get_data(as_text=True)
        assert {json.loads(line)["id"] for line in body.splitlines()} == ids, name
    csv_lines = client.get(links["ranking-csv"].replace("&amp;", "&")).get_data(as_text=True)
    assert csv_lines.splitlines()[1].split(",")[:2] == ["1", "alpha"]
    assert client.get(links["ranking-json"]).json["systems"][0]["system"] == "alpha"
    plain = client.get(f"/projects/{project}/export").get_data(as_text=True)
    assert 'id="preference-exports"' not in plain  # a single-label project has none


def test_a_model_no_better_than_the_longer_response_waits_for_a_person(app):
    app.config["PROMOTION_MARGIN"] = 0.05
    metrics, baselines, status, project_id = _trained(app, better_is_longer=True)
    # length alone decides every pair: the model is right, but no better than the rule
    assert baselines["longer_response"]["accuracy"] == 1.0 == metrics["accuracy"]
    assert status == "candidate"
    [reason] = [note for note in metrics["notes"] if "vs longer_response" in note]
    assert reason.endswith("fails")
    assert any("vs majority_side" in note and note.endswith("passes") for note in metrics["notes"])
    with app.app_context():
        assert db.session.get(Project, project_id).champion_id is None


def test_dawid_skene_learns_who_reads_backwards_and_settles_what_the_majority_could_not(app):
    """Alice and Bob name the better response, Carol always the other (and A for a tie):
    on submit the majority of two in three stays under the project's dispute threshold
    (0.9) and a three-way split has no majority at all; Dawid-Skene learns that Carol's
    vote reads backwards and settles every pair, the split too, in A/B terms."""
    from labeler.services.data.import_spec import ColumnMapping
    from labeler.services.data.imports import import_rows
    from labeler.services.labeling import queue, review
    from labeler.services.labeling.consensus_job import apply_dawid_skene
    from labeler.services.projects.store import create_project

    truth = {f"p{i}": ("A", "B", "A", "B", "tie")[i % 5] for i in range(25)}
    plan = {name: dict(truth) for name in ("alice", "bob")}
    plan["carol"] = {i: {"A": "B", "B": "A", "tie": "A"}[c] for i, c in truth.items()}
    plan["alice"]["split"], plan["bob"]["split"], plan["carol"]["split"] = "A", "tie", "B"
    with app.app_context():
        project = create_project(
            "Weighed", [], task_kind="pairwise", test_fraction=0.0,
            annotations_per_item=3, consensus_method="dawid_skene", dispute_threshold=0.9,
        )  # fmt: skip
        rows = [(n + 1, {"id": i, "prompt": f"q {i}", "response_a": f"a {i}",
                         "response_b": f"b {i}"}) for n, i in enumerate(plan["alice"])]  # fmt: skip
        texts = ("prompt", "response_a", "response_b")
        import_rows(project, rows, ColumnMapping(id="id", text=texts))
        for name in plan:
            set_member(project, user(name), "annotator")
        for item in db.session.scalars(select(Item).where(Item.project_id == project.id)):
            for name, choices in plan.items():
                queue.submit(project, user(name), item, {"choice": choices[item.external_id]})
        db.session.commit()
        by_id = {i.external_id: i for i in db.session.scalars(select(Item))}
        assert by_id["p0"].consensus_label == "A" and by_id["p0"].final_label is None
        assert by_id["split"].disputed and by_id["split"].consensus_label is None
        assert review.count_disputed(project) == 26
        summary = apply_dawid_skene(project, commit_batches=False)
        db.session.commit()
        items = {i.external_id: i for i in db.session.scalars(select(Item))}
        assert {i: items[i].final_label for i in truth} == truth
        assert {items[i].final_source for i in truth} == {"dawid_skene"}
        assert items["split"].final_label == "A" and not items["split"].disputed
        assert review.count_disputed(project) == 0 and summary["n_disputed"] == 0
        quality = {row["annotator"]: row["dawid_skene"] for row in summary["annotators"]}
        assert quality["carol"] < 0.01 and min(quality["alice"], quality["bob"]) > 0.9
