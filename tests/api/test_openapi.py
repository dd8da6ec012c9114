"""The OpenAPI document is generated from the routes, and the live server honours it.

schemathesis sends generated requests (valid and invalid) to a real server on a
loopback port, with every check it has (``--checks all``): no 5xx, responses as
documented, invalid data refused, valid data accepted (but where a business rule the
schema cannot state applies), auth not ignored.
"""

from __future__ import annotations

import re
import string
import sys

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance

from labeler.auth import create_token
from labeler.extensions import db
from labeler.services.accounts import (
    COMMON_PASSWORDS,
    PASSWORD_MIN,
    PASSWORD_PATTERN,
    password_problem,
)
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

# Operations where a request valid by the schema can still be refused (422) by a rule
# that depends on what the database holds, or that relates values no JSON Schema can
# relate; each with its reason. Everything a schema can say is in the document
# (enums, ranges, patterns, required fields, anyOf): POST /users, for one, states the
# password policy as a pattern and is checked in full. On these, and only these, a 422
# for schema-valid data is expected; every other check runs on all.
BUSINESS_RULES = {
    "POST /api/v1/projects": "label names and hotkeys unique within the list, a rating "
    "scale's labels increasing numbers, task_settings the chosen kind knows (rules "
    "between the items of a list and between fields)",
    "PATCH /api/v1/projects/{project_id}": "the sampling strategy and consensus method "
    "must be ones the stored project's task kind offers (the document lists every kind's), "
    "estimator_params must fit the estimator (the stored one when the body names none), "
    "and the test fraction is fixed once labeling has started",
    "POST /api/v1/projects/{project_id}/items/bulk": "mark_gold needs items that have a "
    "final label; the ids must be items of this project",
    "GET /api/v1/projects/{project_id}/items/similar": "either item or q: a choice "
    "between two query parameters, which OpenAPI parameters cannot state",
    "GET /api/v1/projects/{project_id}/ranking": "only a pairwise project has one (the "
    "stored project's kind)",
    "GET /api/v1/projects/{project_id}/order-effects": "only a pairwise project has one",
    "GET /api/v1/projects/{project_id}/preference-pairs": "only a pairwise project has them",
    "POST /api/v1/projects/{project_id}/items/{item_id}/annotation": "the answer must be "
    "in the stored project's label set, the item leased to you, and a suggestion is "
    "echoed only when the project shows them",
    "POST /api/v1/projects/{project_id}/predict": "the rows must carry the fields the "
    "project's model reads, of their types (stored with the project)",
    "POST /api/v1/projects/{project_id}/items": "each row must carry the columns the "
    "mapping names, of their types (names that are data), the gold and suggestion "
    "columns differ from the item fields, and labels are of the project's set",
    "POST /api/v1/projects/{project_id}/labelset": "the labels named must be (or, for a "
    "new name, must not be) in the stored label set",
    "POST /api/v1/projects/{project_id}/items/{item_id}/review": "resolve's answer must "
    "be in the stored project's label set",
}


def test_each_exemption_names_an_operation_and_its_reason(client):
    spec = client.get("/api/v1/openapi.json").json
    operations = {
        f"{method.upper()} /api/v1{path.removeprefix('/api/v1')}"
        for path, ops in spec["paths"].items()
        for method in ops
    }
    for label, reason in BUSINESS_RULES.items():
        assert label in operations, f"{label} is no operation of the document"
        assert len(reason) > 20


def test_the_documented_password_pattern_is_the_policy():
    """The pattern POST /users documents accepts exactly the passwords (of an allowed
    length) the policy accepts; the rule against the username relates two fields and is
    left to the server."""
    pattern = re.compile(PASSWORD_PATTERN)

    def agrees(password: str) -> None:
        assert len(password) >= PASSWORD_MIN
        documented = pattern.search(password) is not None
        assert documented == (password_problem(password) is None), repr(password)

    for word in COMMON_PASSWORDS:
        for variant in (word, word.upper(), word.title(), word.replace("k", "\u212a")):
            agrees(variant)
            agrees(variant + "\n")  # "$" would match before it; the pattern does not
            agrees(variant + "x")
    for password in ("aaaaaaaa", "abababab", "abcabcab", "\n" * 7 + "x", "a" * 7 + "\U0001f600"):
        agrees(password)
    # the pattern spells each letter as every character whose lower case it is
    letters = set(string.ascii_lowercase)
    folds = {c for c in map(chr, range(sys.maxunicode + 1)) if c.lower() in letters}
    assert folds == set(string.ascii_letters) | {"\u212a"}

    alphabet = st.sampled_from("passwordPASSWORD1234567890qwe@\n\u212ak") | st.characters()

    @given(st.text(alphabet, min_size=8, max_size=14) | st.sampled_from(sorted(COMMON_PASSWORDS)))
    @settings(max_examples=300, deadline=None)
    def holds(password):
        agrees(password)

    holds()


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_check_holds_on_every_operation(case, live_api):
    _, token = live_api
    excluded = [positive_data_acceptance] if case.operation.label in BUSINESS_RULES else []
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, excluded_checks=excluded)
