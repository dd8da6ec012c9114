"""A rating project through the API on real data: VADER tweet ratings (-4..4, 20-99 per
tweet) imported as ratings; the server's interval alpha and ICC equal references
computed on the same frame, and the scale is a project setting."""

from __future__ import annotations

import ast

import krippendorff
import numpy as np
import pandas as pd
import pytest

from labeler.extensions import db
from labeler.models import Item, Project
from labeler.services.projects.store import set_member
from tests.conftest import DATA, bearer, user

SCALE = [str(point) for point in range(-4, 5)]
SAMPLE = 40


def _sample() -> pd.DataFrame:
    tweets = pd.read_csv(
        DATA / "vader_tweets_ratings.tsv", sep="\t", header=None, names=["id", "mean", "sd", "r"]
    ).sample(SAMPLE, random_state=11)
    rows = [
        (f"tweet-{tweet}", f"rater-{position}", int(rating))
        for tweet, ratings in zip(tweets["id"], tweets["r"], strict=True)
        for position, rating in enumerate(ast.literal_eval(ratings), start=1)
    ]
    return pd.DataFrame(rows, columns=["item", "annotator", "rating"])


def _icc1_unbalanced(frame: pd.DataFrame) -> float:
    """One-way random-effects ICC(1) with unequal group sizes (Shrout & Fleiss 1979;
    group size k0 as in Donner 1986), from explicit sums."""
    groups = {item: g["rating"].to_numpy(float) for item, g in frame.groupby("item")}
    n, total = len(groups), sum(len(v) for v in groups.values())
    grand = sum(v.sum() for v in groups.values()) / total
    ss_between = sum(len(v) * (v.mean() - grand) ** 2 for v in groups.values())
    ss_within = sum(((v - v.mean()) ** 2).sum() for v in groups.values())
    ms_between, ms_within = ss_between / (n - 1), ss_within / (total - n)
    k0 = (total - sum(len(v) ** 2 for v in groups.values()) / total) / (n - 1)
    return (ms_between - ms_within) / (ms_between + (k0 - 1) * ms_within)


@pytest.fixture
def vader(client, tokens, app):
    admin = bearer(tokens["admin"])
    created = client.post(
        "/api/v1/projects",
        json={
            "name": "VADER ratings",
            "labels": [{"name": point} for point in SCALE],
            "task_kind": "rating",
            "label_scale": "ordinal",
            "annotations_per_item": 20,
            "test_fraction": 0,
        },
        headers=admin,
    )
    assert created.status_code == 201, created.json
    assert (created.json["task_kind"], created.json["label_scale"]) == ("rating", "ordinal")
    frame = _sample()
    items = [
        {"id": item, "text": f"tweet {item}", "rating": rating, "who": annotator}
        for item, annotator, rating in frame.itertuples(index=False)
    ]
    project_id = created.json["id"]
    imported = client.post(
        f"/api/v1/projects/{project_id}/items",
        json={
            "mapping": {
                "id": "id",
                "text": ["text"],
                "label": "rating",
                "annotator": "who",
                "add_annotators": True,  # the raters become members
            },
            "items": items,
        },
        headers=admin,
    )
    assert imported.status_code == 201, imported.json
    assert imported.json["annotations_added"] == len(frame)
    with app.app_context():
        set_member(db.session.get(Project, project_id), user("rita"), "reviewer")
        set_member(db.session.get(Project, project_id), user("alice"), "annotator")
        db.session.commit()
    return project_id, frame


def _kind_figures(client, tokens, project_id):
    body = client.get(
        f"/api/v1/projects/{project_id}/agreement", headers=bearer(tokens["rita"])
    ).json
    return {f["name"]: f["value"] for f in body["figures"]["kind"]["figures"]}


def test_real_ratings_alpha_and_icc_equal_the_references(client, tokens, vader):
    project_id, frame = vader
    matrix = frame.pivot(index="annotator", columns="item", values="rating").to_numpy(float)
    figures = _kind_figures(client, tokens, project_id)
    ordinal = krippendorff.alpha(
        reliability_data=matrix, level_of_measurement="ordinal", value_domain=list(range(-4, 5))
    )
    assert figures["Krippendorff's alpha (ordinal)"] == pytest.approx(ordinal, abs=1e-9)
    assert figures["Intraclass correlation ICC(1)"] == pytest.approx(
        _icc1_unbalanced(frame), abs=1e-9
    )

    admin = bearer(tokens["admin"])
    patched = client.patch(
        f"/api/v1/projects/{project_id}", json={"label_scale": "interval"}, headers=admin
    )
    assert patched.status_code == 200 and "label_scale" in patched.json["changed"]
    assert patched.json["settings"]["label_scale"] == "interval"
    interval = krippendorff.alpha(reliability_data=matrix, level_of_measurement="interval")
    figures = _kind_figures(client, tokens, project_id)
    assert figures["Krippendorff's alpha (interval)"] == pytest.approx(interval, abs=1e-9)
    bad = client.patch(
        f"/api/v1/projects/{project_id}", json={"label_scale": "fuzzy"}, headers=admin
    )
    assert bad.status_code == 422


def test_consensus_follows_the_scale_and_ratings_are_checked(client, tokens, vader, app):
    project_id, frame = vader
    first = frame["item"].iloc[0]
    ratings = frame[frame["item"] == first]["rating"].to_numpy(float)
    with app.app_context():
        item = db.session.query(Item).filter_by(project_id=project_id, external_id=first).one()
        lower_median = float(np.sort(ratings)[(len(ratings) - 1) // 2])
        # The typed value beside its key: the lower median, a point of the scale.
        assert (item.consensus_value, item.consensus_label) == (
            lower_median,
            str(int(lower_median)),
        )
    client.patch(
        f"/api/v1/projects/{project_id}",
        json={"label_scale": "interval"},
        headers=bearer(tokens["admin"]),
    )
    with app.app_context():
        item = db.session.query(Item).filter_by(project_id=project_id, external_id=first).one()
        assert float(item.consensus_label) == pytest.approx(round(ratings.mean(), 6))
        assert item.disputed == (ratings.std() > 1.0 and len(ratings) >= 20)
    alice = bearer(tokens["alice"])
    created = client.post(
        "/api/v1/projects",
        json={"name": "Stars", "labels": [{"name": p} for p in "12345"], "task_kind": "rating"},
        headers=bearer(tokens["admin"]),
    )
    stars = created.json["id"]
    client.post(
        f"/api/v1/projects/{stars}/items",
        json={"mapping": {"id": "id", "text": ["t"]}, "items": [{"id": "x", "t": "film"}]},
        headers=bearer(tokens["admin"]),
    )
    with app.app_context():
        set_member(db.session.get(Project, stars), user("alice"), "annotator")
        db.session.commit()
    item = client.get(f"/api/v1/projects/{stars}/next", headers=alice).json["items"][0]
    url = f"/api/v1/projects/{stars}/items/{item['id']}/annotation"
    refused = client.post(url, json={"value": 7}, headers=alice)
    assert refused.status_code == 422 and "not a point of the scale" in refused.json["error"]
    answered = client.post(url, json={"value": 4}, headers=alice)
    assert answered.status_code == 201 and answered.json["value"] == 4
    bad_scale = client.post(
        "/api/v1/projects",
        json={
            "name": "Words",
            "labels": [{"name": "low"}, {"name": "high"}],
            "task_kind": "rating",
        },
        headers=bearer(tokens["admin"]),
    )
    assert bad_scale.status_code == 422 and bad_scale.json["detail"]["field"] == "labels"
