"""JSON responses: orjson-encoded, yet what clients parse is what Flask's encoder gave."""

from __future__ import annotations

import datetime
import decimal
import json
import uuid

from flask.json.provider import DefaultJSONProvider

from labeler.web.json_provider import FastJSONProvider

SAMPLES = [
    {"b": 1, "a": [1.5, "x", None, True], "c": {"z": 0, "y": "é ☃ <script>"}},
    {"when": datetime.datetime(2024, 5, 17, 8, 30), "day": datetime.date(2024, 5, 17)},
    {"price": decimal.Decimal("1.25"), "id": uuid.UUID(int=7)},
    {"big": 2**70, "neg": -(2**66)},  # beyond orjson: the standard encoder takes over
    [{"k": i, "p": {"ham": i / 7, "spam": 1 - i / 7}} for i in range(50)],
]


def test_responses_parse_to_what_flask_would_have_sent(app):
    fast, plain = FastJSONProvider(app), DefaultJSONProvider(app)
    with app.test_request_context():
        for sample in SAMPLES:
            body = fast.response(sample).get_data()
            assert json.loads(body) == json.loads(plain.response(sample).get_data())
            assert json.loads(fast.dumps(sample)) == json.loads(plain.dumps(sample))


def test_keys_stay_sorted_and_nan_becomes_null(app):
    with app.test_request_context():
        body = app.json.response({"b": 1, "a": float("nan")}).get_data()
    assert body == b'{"a":null,"b":1}\n'


def test_the_app_uses_it(app, client):
    assert isinstance(app.json, FastJSONProvider)
    assert client.get("/api/v1/projects").json["error"] == "authentication required"
