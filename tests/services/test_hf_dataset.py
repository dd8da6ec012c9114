"""The Hugging Face export: ClassLabel features, every vote, the card; needs `datasets`."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Item
from labeler.services.data.dataset_card import card_markdown, dataset_card
from labeler.services.labeling import queue
from tests.conftest import make_project, user
from tests.services.test_interchange import _votes

datasets = pytest.importorskip("datasets")  # the optional 'huggingface' extra


def test_save_to_disk_keeps_labels_votes_splits_and_the_card(app, tmp_path):
    with app.app_context():
        project = make_project("Source", n_items=10, k=1, test_fraction=0.3)
        for name in ("alice", "bob"):
            for _ in range(3):
                item = queue.next_items(project, user(name))[0]
                queue.submit(project, user(name), item, "spam" if item.id % 2 else "ham")
        db.session.commit()
        votes = _votes(project)
        finals = {i.external_id: i.final_label for i in db.session.scalars(select(Item))}
        splits = {i.external_id: i.split for i in db.session.scalars(select(Item))}
        card = card_markdown(dataset_card(project))
    result = app.test_cli_runner().invoke(
        args=["export-to", "huggingface", "Source", "-o", str(tmp_path / "hf")]
    )
    assert result.exit_code == 0, result.output
    loaded = datasets.load_from_disk(str(tmp_path / "hf"))
    assert sum(len(loaded[s]) for s in loaded) == 10
    seen_votes, seen_finals = set(), {}
    for split in loaded:
        features = loaded[split].features
        assert isinstance(features["label"], datasets.ClassLabel)
        assert features["label"].names == ["ham", "spam"]
        for row in loaded[split]:
            assert splits[row["external_id"]] == split
            label = row["label"]
            seen_finals[row["external_id"]] = (
                features["label"].int2str(label) if label >= 0 else None
            )
            for vote in row["annotations"]:
                seen_votes.add(
                    (
                        row["external_id"],
                        vote["annotator"],
                        features["label"].int2str(vote["label"]),
                    )
                )
            assert row["text"].startswith("message number")
    assert seen_votes == votes and seen_finals == finals
    assert isinstance(loaded, datasets.DatasetDict)  # save_to_disk's folder, as written
    assert (tmp_path / "hf" / "dataset_dict.json").exists()
    written = (tmp_path / "hf" / "README.md").read_text()
    moment = r"(Exported|Checked) \S+ UTC"  # when it was written, and checked (each call)
    assert re.sub(moment, "", written) == re.sub(moment, "", card)  # the project's card
    assert "Source" in card and "ham" in card
