"""The Hugging Face export of multi-label, rating, spans and pairwise projects: each
kind's answer columns (ClassLabel lists, ratings, spans, prompt / chosen / rejected),
every vote, and rows written from a generator batch by batch."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Annotation, Item, User
from labeler.services.data import hf_dataset
from labeler.services.projects import kinds
from tests.services.test_kind_training import _label, _project

datasets = pytest.importorskip("datasets")  # the optional 'huggingface' extra


def _export(app, kind_name, tmp_path, n_labeled=30):
    with app.app_context():
        project, answers = _project(kind_name)
        _label(project, answers, n_labeled)
        kind = kinds.kind_of(project)
        finals = {
            i.external_id: kind.decode(i.final_label, i.final_value) if i.final_label else None
            for i in db.session.scalars(select(Item).where(Item.project_id == project.id))
        }
        votes = {
            (external_id, who, kind.key(kind.decode(key, value)))
            for external_id, who, key, value in db.session.execute(
                select(Item.external_id, User.username, Annotation.label, Annotation.value)
                .join(Item, Item.id == Annotation.item_id)
                .join(User, User.id == Annotation.user_id)
                .where(Item.project_id == project.id)
            )
        }
        counts = hf_dataset.save_hf_dataset(project, tmp_path / "hf")
        labels = project.label_names
    loaded = datasets.load_from_disk(str(tmp_path / "hf"))
    assert {split: len(loaded[split]) for split in loaded} == counts
    return loaded, finals, votes, labels, kind


def test_multi_label_exports_lists_of_class_labels_and_every_vote(app, tmp_path):
    loaded, finals, votes, labels, kind = _export(app, "multi_label", tmp_path)
    seen, seen_votes = {}, set()
    for split in loaded:
        feature = loaded[split].features["labels"].feature
        assert isinstance(feature, datasets.ClassLabel) and feature.names == labels
        for row in loaded[split]:
            names = [feature.int2str(i) for i in row["labels"]]
            seen[row["external_id"]] = names if row["labeled"] else None
            for vote in row["annotations"]:
                chosen = [feature.int2str(i) for i in vote["labels"]]
                seen_votes.add((row["external_id"], vote["annotator"], kind.key(chosen)))
            assert row["text"]
    assert seen == finals and seen_votes == votes


def test_rating_and_spans_keep_values_and_votes(app, tmp_path):
    loaded, finals, votes, labels, kind = _export(app, "rating", tmp_path / "r")
    rows = [row for split in loaded for row in loaded[split]]
    assert {r["external_id"]: r["rating"] for r in rows} == {
        k: None if v is None else float(v) for k, v in finals.items()
    }
    got = {(r["external_id"], v["annotator"], v["rating"]) for r in rows for v in r["annotations"]}
    assert got == {(e, who, float(key)) for e, who, key in votes}

    loaded, finals, votes, labels, kind = _export(app, "spans", tmp_path / "s")
    split = next(iter(loaded))
    label = loaded[split].features["spans"].feature["label"]
    assert label.names == labels

    def plain(spans):
        return [
            {"start": s["start"], "end": s["end"], "label": label.int2str(s["label"])}
            for s in spans
        ]

    rows = [row for split in loaded for row in loaded[split]]
    assert {r["external_id"]: plain(r["spans"]) if r["labeled"] else None for r in rows} == finals
    got = {
        (r["external_id"], v["annotator"], kind.key(plain(v["spans"])))
        for r in rows
        for v in r["annotations"]
    }
    assert got == votes


def test_pairwise_exports_prompt_chosen_rejected_for_decided_pairs(app, tmp_path):
    loaded, finals, votes, labels, kind = _export(app, "pairwise", tmp_path)
    rows = {row["external_id"]: row for split in loaded for row in loaded[split]}
    decided = {k: v for k, v in finals.items() if v is not None and v["choice"] in ("A", "B")}
    assert set(rows) == set(decided) and rows
    with app.app_context():
        data = {i.external_id: i.data for i in db.session.scalars(select(Item))}  # one project
    for external_id, row in rows.items():
        won, lost = ("a", "b") if decided[external_id]["choice"] == "A" else ("b", "a")
        assert row["prompt"] == data[external_id]["prompt"]
        assert row["chosen"] == data[external_id][f"response_{won}"]
        assert row["rejected"] == data[external_id][f"response_{lost}"]
        assert row["choice"] == decided[external_id]["choice"] and row["n_votes"] == 2
        assert {(external_id, v["annotator"], v["choice"]) for v in row["votes"]} <= votes


def test_the_export_reads_items_batch_by_batch(app, tmp_path, monkeypatch):
    monkeypatch.setattr(hf_dataset, "BATCH", 7)
    sizes = []
    batches = hf_dataset._batches

    def counted(*args):
        for rows in batches(*args):
            sizes.append(len(rows))
            yield rows

    monkeypatch.setattr(hf_dataset, "_batches", counted)
    loaded, finals, *_ = _export(app, "multi_label", tmp_path)
    assert sum(len(loaded[s]) for s in loaded) == len(finals)
    assert max(sizes) == 7 and len(sizes) > len(finals) / 7
