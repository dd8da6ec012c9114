"""Real disagreement: VADER tweet ratings imported as a multi-annotator project.

Each tweet carries 20-99 integer ratings (-4..4) from different people; rater ids
were not published, so rating position k plays annotator ``rater-k``. Ratings are
binned negative (< 0) / neutral (0) / positive (> 0) and imported through
labeler's own import (label + annotator columns). The server's agreement figures
must equal the ``krippendorff`` package's on the same bins.
"""

from __future__ import annotations

import ast

import krippendorff
import numpy as np
import pandas as pd
import pytest

from labeler import jobs
from labeler.extensions import db
from labeler.models import Annotation, Project
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows
from labeler.services.projects.store import create_project, set_member
from tests.conftest import DATA, bearer, user

RATINGS = DATA / "vader_tweets_ratings.tsv"
LABELS = ["negative", "neutral", "positive"]
SAMPLE = 150


def _sample() -> pd.DataFrame:
    """A seeded sample of tweets as a long frame: tweet, rater, label."""
    # No header: id, mean, sd, and the ratings as a Python-style list.
    tweets = pd.read_csv(RATINGS, sep="\t", header=None, names=["id", "mean", "sd", "ratings"])
    tweets = tweets.sample(SAMPLE, random_state=7)
    rows = [
        (f"tweet-{tweet}", f"rater-{position}", LABELS[int(np.sign(rating)) + 1])
        for tweet, ratings in zip(tweets["id"], tweets["ratings"], strict=True)
        for position, rating in enumerate(ast.literal_eval(ratings), start=1)
    ]
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


def _reliability_matrix(frame: pd.DataFrame) -> np.ndarray:
    """krippendorff's input: annotators x items, label codes 0..2, NaN where unrated."""
    codes = frame.assign(code=frame["label"].map(LABELS.index))
    return codes.pivot(index="annotator", columns="item", values="code").to_numpy(float)


@pytest.fixture
def vader(app) -> tuple[int, pd.DataFrame]:
    frame = _sample()
    with app.app_context():
        project = create_project(
            "VADER", [{"name": name} for name in LABELS], annotations_per_item=20
        )
        rows = (
            (line, {"id": item, "text": f"tweet {item}", "label": label, "annotator": annotator})
            for line, (item, annotator, label) in enumerate(frame.itertuples(index=False), start=1)
        )
        import_rows(
            project,
            rows,
            ColumnMapping(
                id="id", text=("text",), label="label", annotator="annotator", add_annotators=True
            ),
        )
        set_member(project, user("rita"), "reviewer")
        db.session.commit()
        assert db.session.query(Annotation).count() == len(frame)
        return project.id, frame


def test_server_alpha_equals_the_krippendorff_package(app, vader, client, tokens):
    project_id, frame = vader
    matrix = _reliability_matrix(frame)
    with app.app_context():
        job = jobs.start("agreement", project_id)
        db.session.refresh(job)
        assert job.status == "done", job.error
        figures = job.result
    nominal = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert figures["alpha"]["value"] == pytest.approx(nominal, abs=1e-9)
    assert figures["alpha"]["ci_low"] < figures["alpha"]["value"] < figures["alpha"]["ci_high"]
    assert (figures["n_items"], figures["n_annotations"]) == (SAMPLE, len(frame))
    for row in figures["per_label"]:  # one vs rest, as a two-valued nominal alpha
        binary = np.where(np.isnan(matrix), np.nan, matrix == LABELS.index(row["label"]))
        expected = krippendorff.alpha(reliability_data=binary, level_of_measurement="nominal")
        assert row["alpha"] == pytest.approx(expected, abs=1e-9), row["label"]
    served = client.get(
        f"/api/v1/projects/{project_id}/agreement", headers=bearer(tokens["rita"])
    ).json["figures"]
    assert served["alpha"]["value"] == pytest.approx(nominal, abs=1e-9)


def test_ordinal_scale_uses_the_label_order(app, vader):
    project_id, frame = vader
    with app.app_context():
        db.session.get(Project, project_id).label_scale = "ordinal"
        db.session.commit()
        job = jobs.start("agreement", project_id)
        db.session.refresh(job)
        figures = job.result
    expected = krippendorff.alpha(
        reliability_data=_reliability_matrix(frame), level_of_measurement="ordinal"
    )
    assert figures["level"] == "ordinal"
    assert figures["alpha"]["value"] == pytest.approx(expected, abs=1e-9)
