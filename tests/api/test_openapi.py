"""The OpenAPI document is generated from the routes, and the live server honours it.

schemathesis sends generated requests (valid and invalid) to a real server on a
loopback port: no response may be a 5xx or break the documented schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from labeler.auth import create_token
from labeler.extensions import db
from tests.conftest import make_project, user


@pytest.fixture
def live_api(app, live_server):
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
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(case, live_api):
    _, token = live_api
    # Business rules (e.g. "map at least one column") go beyond what a schema can say,
    # so acceptance checks are left out; server errors and response shapes are not.
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
