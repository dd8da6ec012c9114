"""Hostile input never yields a 5xx: one property test over every form and JSON endpoint.

The endpoints come from the URL map (every POST page, with the field names its
templates send) and the OpenAPI document (every API operation, its path parameters,
query parameters and body properties). Hypothesis picks an endpoint, a field and a
hostile value (nesting thousands deep, a lone surrogate, the wrong JSON type, an
integer too large for any database, a non-finite number...), and the answer must be
a 4xx with a message, or a success, never a 5xx.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Item
from tests.conftest import bearer, user

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
DEEP = "[" * 5000 + "]" * 5000

# Raw JSON texts, so that values json.dumps would refuse (1e999, lone surrogates) go too.
JSON_VALUES = [
    DEEP,
    '{"a":' * 3000 + "1" + "}" * 3000,
    '"\\ud800"',
    '"x\\udfffy"',
    "[]",
    "{}",
    '{"x": [1, {"y": null}]}',
    '"text"',
    "true",
    "null",
    str(2**70),
    str(-(2**63)),
    "1e999",
    "-1e999",
    "NaN",
    "1.5",
    '"' + "x" * 20_000 + '"',
]
BODIES = [DEEP, "[1, 2]", '"a string"', "null", "not json", '{"\\ud800": 1}', "{" * 200]
FORM_VALUES = [
    "99999999999999999999999999999",
    "9" * 5000,  # past int()'s 4,300 digits: a ValueError of its own
    str(2**63),
    "-1",
    "1e309",
    "nan",
    "",
    "\x00",
    "x" * 20_000,
    "%ED%A0%80",  # sent raw: a lone surrogate, percent-encoded
    "[]",
    "{}",
]
BIG_IDS = [2**63, 2**64, 10**30, 2**31]


def _form_fields() -> list[str]:
    names = set()
    for template in TEMPLATES.rglob("*.html"):
        names |= set(re.findall(r'name="([^"{}]+)"', template.read_text()))
    return sorted(names - {"csrf_token", "csrf-token"})


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _operations(spec: dict) -> list[dict[str, Any]]:
    found = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if method == "parameters":
                continue
            body = (
                (operation.get("requestBody") or {})
                .get("content", {})
                .get("application/json", {})
                .get("schema")
            )
            properties = sorted(_resolve(spec, body).get("properties", {})) if body else []
            query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            found.append(
                {
                    "path": "/api/v1" + path.removeprefix("/api/v1"),
                    "method": method.upper(),
                    "fields": properties or ["x"],
                    "query": query,
                }
            )
    return found


def _fill(path: str, ids: dict[str, int], big: int | None) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        return str(big if big is not None else ids.get(name, 1))

    return re.sub(r"\{(\w+)\}", value, re.sub(r"<(?:int:)?(\w+)>", r"{\1}", path))


def _has_message(response) -> bool:
    if response.is_json:
        body = response.get_json(silent=True)
        return isinstance(body, dict) and bool(str(body.get("error", "")).strip())
    text = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return bool(text.strip()) or response.status_code in (401, 404, 405, 429)


def test_hostile_values_in_every_field_never_give_a_5xx(app, client, auth, project, tokens):
    with app.app_context():
        item_id = db.session.scalars(select(Item.id)).first()
        ids = {
            "project_id": project,
            "item_id": item_id,
            "user_id": user("dave").id,
            "version_id": 1,
            "job_id": 1,
            "import_job_id": 1,
            "token_id": 1,
        }
    spec = client.get("/api/v1/openapi.json").json
    operations = _operations(spec)
    pages = [
        rule
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods
        and not rule.endpoint.startswith("api.")
        and rule.endpoint != "auth.logout"
    ]
    fields = _form_fields()
    auth.login("admin")
    csrf = auth.csrf()
    admin = bearer(tokens["admin"])
    failures: list[str] = []

    @given(st.data())
    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    def one(data):
        big = data.draw(st.sampled_from([None, None, None, *BIG_IDS]))
        if data.draw(st.booleans()):
            op = data.draw(st.sampled_from(operations))
            url = _fill(op["path"], ids, big)
            if op["query"] and data.draw(st.booleans()):
                name = data.draw(st.sampled_from(op["query"]))
                url += f"?{name}={quote(data.draw(st.sampled_from(FORM_VALUES)), safe='%')}"
            if op["method"] == "GET":
                body = None
            elif data.draw(st.booleans()):
                body = data.draw(st.sampled_from(BODIES))
            else:
                field = data.draw(st.sampled_from(op["fields"]))
                value = data.draw(st.sampled_from(JSON_VALUES))
                body = f'{{"{field}": {value}}}'
            response = client.open(
                url,
                method=op["method"],
                headers=admin,
                data=body,
                content_type="application/json" if body is not None else None,
            )
        else:
            rule = data.draw(st.sampled_from(pages))
            url = _fill(rule.rule, ids, big)
            chosen = data.draw(st.lists(st.sampled_from(fields), min_size=1, max_size=4))
            values = [data.draw(st.sampled_from(FORM_VALUES)) for _ in chosen]
            pairs = [f"csrf_token={quote(csrf)}"] + [
                f"{quote(name)}={v if v.startswith('%') else quote(v)}"
                for name, v in zip(chosen, values, strict=True)
            ]
            response = client.post(
                url, data="&".join(pairs), content_type="application/x-www-form-urlencoded"
            )
            body = dict(zip(chosen, values, strict=True))
        status = response.status_code
        response.close()
        if status >= 500 or (status >= 400 and not _has_message(response)):
            shown = body if isinstance(body, dict) else str(body)
            failures.append(f"{status} {response.request.method} {url} {str(shown)[:160]}")

    one()
    assert not failures, "\n".join(sorted(set(failures)))


def test_the_classes_the_report_found_get_a_422_that_says_why(client, project, tokens):
    admin = bearer(tokens["admin"])
    url = f"/api/v1/projects/{project}"
    cases = {
        "[" * 10_000 + "]" * 10_000: "nested deeper",
        '{"guidelines": "\\ud800"}': "lone surrogate",
        '{"name": "x\\udc00"}': "lone surrogate",
        "[1, 2]": "not a list",
    }
    for body, says in cases.items():
        response = client.patch(url, data=body, content_type="application/json", headers=admin)
        assert response.status_code == 422, (body[:40], response.status_code)
        message = response.json["error"]
        assert says in message or (says == "not a list" and "a list" in message), message
    assert client.get(f"/api/v1/projects/{2**70}", headers=admin).status_code == 404


def test_every_form_page_survives_each_hostile_value_in_every_field(app, client, auth, project):
    """The sweep beside the property test: each POST page gets each hostile value in
    every field the templates name at once (form and query), with real and too-large
    ids in its path; none may answer a 5xx (or raise: the test app propagates)."""
    with app.app_context():
        item_id = db.session.scalars(select(Item.id)).first()
        ids = {"project_id": project, "item_id": item_id, "user_id": user("dave").id}
    pages = sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if "POST" in rule.methods
            and not rule.endpoint.startswith("api.")
            and rule.endpoint != "auth.logout"
        ),
        key=lambda rule: rule.rule,
    )
    fields = _form_fields()
    auth.login("admin")
    csrf = auth.csrf()
    failures = []
    for rule in pages:
        for big in (None, BIG_IDS[0]):
            url = _fill(rule.rule, ids, big)
            if big is not None and url == _fill(rule.rule, ids, None):
                continue  # no id in this path
            for value in FORM_VALUES:
                sent = value if value.startswith("%") else quote(value)
                pairs = "&".join(f"{quote(name)}={sent}" for name in fields)
                try:
                    response = client.post(
                        f"{url}?{pairs}",
                        data=f"csrf_token={quote(csrf)}&{pairs}",
                        content_type="application/x-www-form-urlencoded",
                    )
                except Exception as error:  # noqa: BLE001  (what would be a 500)
                    failures.append(f"{url} {value[:20]!r}: {type(error).__name__}: {error}")
                    continue
                response.close()
                if response.status_code >= 500:
                    failures.append(f"{url} {value[:20]!r}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_every_api_operation_survives_each_hostile_value_in_every_field(
    app, client, project, tokens
):
    """The same sweep over the OpenAPI document: each operation gets each hostile JSON
    value in every body property at once, and in each query parameter; never a 5xx."""
    with app.app_context():
        item_id = db.session.scalars(select(Item.id)).first()
        ids = {"project_id": project, "item_id": item_id, "user_id": user("dave").id}
    admin = bearer(tokens["admin"])
    failures = []
    operations = _operations(client.get("/api/v1/openapi.json").json)
    assert len(operations) > 50  # the document was read
    for op in operations:
        if op["path"].endswith("/users/{user_id}") and op["method"] != "GET":
            continue  # would deactivate the user whose id the other paths name
        url = _fill(op["path"], ids, None)
        for value in JSON_VALUES:
            query = "&".join(f"{name}={quote(value, safe='')}" for name in op["query"])
            body = None
            if op["method"] != "GET":
                body = "{" + ", ".join(f'"{field}": {value}' for field in op["fields"]) + "}"
            try:
                response = client.open(
                    f"{url}?{query}" if query else url,
                    method=op["method"],
                    headers=admin,
                    data=body,
                    content_type="application/json" if body is not None else None,
                )
            except Exception as error:  # noqa: BLE001  (what would be a 500)
                failures.append(f"{op['method']} {url} {value[:20]!r}: {error!r}"[:300])
                continue
            response.close()
            if response.status_code >= 500:
                failures.append(f"{op['method']} {url} {value[:20]!r}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_a_prediction_refuses_numbers_no_model_can_read_naming_item_and_field(app, client, tokens):
    """inf, -inf and nan (and integers past the largest float) are refused at import with
    line and column; a prediction request refuses them the same way, naming the item and
    the field (they reached the model and answered 500)."""
    import numpy as np
    import pandas as pd

    from labeler.core import training
    from labeler.core.model_inputs import ModelInputs
    from labeler.models import ModelVersion
    from labeler.services.data.import_spec import ColumnMapping
    from labeler.services.data.imports import import_rows
    from labeler.services.learning import artifacts
    from labeler.services.projects.store import create_project

    with app.app_context():
        project = create_project("Numbers", [{"name": "a"}, {"name": "b"}])
        mapping = ColumnMapping(id="id", numeric=("x",), text=("t",))
        import_rows(project, [(1, {"id": "1", "x": 1.0, "t": "hi"})], mapping)
        x = np.random.default_rng(0).normal(size=200)
        inputs = ModelInputs(numeric=("x",), text=("t",))
        frame = pd.DataFrame({"x": x, "t": ["some words"] * 200})
        model = training.train(
            frame, ["a" if v > 0 else "b" for v in x], inputs, "logistic_regression"
        )
        version = ModelVersion(
            project_id=project.id,
            status="champion",
            estimator="logistic_regression",
            n_labels=200,
            train_label_counts={"a": 100, "b": 100},
            metrics={"accuracy": 1.0, "macro_f1": 1.0, "n_test": 50},
            baseline_metrics={},
        )
        db.session.add(version)
        db.session.flush()
        version.artifact_path = artifacts.save(model, project.id, version.id)
        project.champion_id = version.id
        db.session.commit()
        url = f"/api/v1/projects/{project.id}/predict"
    admin = bearer(tokens["admin"])

    def predict(literal: str):
        body = f'{{"items": [{{"x": 0.5, "t": "hi"}}, {{"x": {literal}, "t": "hi"}}]}}'
        return client.post(url, data=body, content_type="application/json", headers=admin)

    shown = {"1e999": "inf", "-1e999": "-inf", "NaN": "nan", "Infinity": "inf"}
    shown |= {"-Infinity": "-inf", str(10**400): "a larger integer"}
    for literal, got in shown.items():
        refused = predict(literal)
        assert refused.status_code == 422, (literal, refused.status_code)
        assert refused.json["detail"]["problems"] == [
            f"item 1: field 'x' must be a finite number or null, got {got}"
        ], literal
    for literal in ("null", "-3", str(10**30), "2.5e300"):
        answered = predict(literal)
        assert answered.status_code == 200, (literal, answered.json)
        assert len(answered.json["predictions"]) == 2
