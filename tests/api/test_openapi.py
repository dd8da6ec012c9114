"""The OpenAPI document is generated from the routes, and the live server honours it.

schemathesis sends generated requests (valid and invalid) to a real server on a
loopback port, with every check it has (``--checks all``): no 5xx, responses as
documented, invalid data refused, valid data accepted (but where a business rule the
schema cannot state applies), auth not ignored.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from labeler.auth import create_token
from labeler.extensions import db
from tests.conftest import make_project, user


@pytest.fixture
def live_api(app, live_server):
    # Generated webhooks point at made-up hosts, and the inline executor delivers inside
    # the request: one attempt, briefly, so a "send test event" answers in time.
    app.config.update(WEBHOOK_JOB_SECONDS=0, WEBHOOK_TIMEOUT_SECONDS=0.5)
    with app.app_context():
        make_project(n_items=10, k=2)
        _, token = create_token(user("admin"), "schemathesis")
        db.session.commit()
    return live_server, token


@pytest.fixture
def api_schema(live_api):
    base, _ = live_api
    return schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")


def test_the_document_describes_every_api_route(app, client):
    spec = client.get("/api/v1/openapi.json").json
    documented = {
        (path.replace("{", "<").replace("}", ">"), method.upper())
        for path, ops in spec["paths"].items()
        for method in ops
    }
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = str(rule).replace("<int:", "<")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, method) in documented, f"{method} {path} is not documented"
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_the_docs_page_renders_offline(client):
    html = client.get("/api/docs").get_data(as_text=True)
    assert "/api/v1/projects/{project_id}/next" in html and "AnnotationIn" in html
    assert "https://" not in html and "<script>" not in html


schema = schemathesis.pytest.from_fixture("api_schema")

# Operations where a request valid by the schema can still break a rule no schema can
# say: a label in this project's label set, a lease on the item, a password that is not
# a common one, a mapping that maps a column, a batch that holds an item, either an item
# or a text to find items like, a report only a pairwise project has, a webhook address
# with a host, gold only for items with a final label, task settings that the chosen
# kind knows, a queue strategy or consensus method that the project's kind offers
# (the document lists every kind's). On these, and only these, a 422 for schema-valid
# data is expected; every other check runs on all.
BUSINESS_RULES = {
    "POST /api/v1/projects",
    "PATCH /api/v1/projects/{project_id}",
    "POST /api/v1/projects/{project_id}/items/bulk",
    "GET /api/v1/projects/{project_id}/items/similar",
    "GET /api/v1/projects/{project_id}/ranking",
    "GET /api/v1/projects/{project_id}/order-effects",
    "GET /api/v1/projects/{project_id}/preference-pairs",
    "POST /api/v1/users",
    "POST /api/v1/projects/{project_id}/items/{item_id}/annotation",
    "POST /api/v1/projects/{project_id}/predict",
    "POST /api/v1/projects/{project_id}/items",
    "POST /api/v1/projects/{project_id}/labelset",
    "POST /api/v1/projects/{project_id}/items/{item_id}/review",
}


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_check_holds_on_every_operation(case, live_api):
    _, token = live_api
    excluded = [positive_data_acceptance] if case.operation.label in BUSINESS_RULES else []
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, excluded_checks=excluded)
