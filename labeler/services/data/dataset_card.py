"""The dataset card that travels with an export: what is in it and how far to trust it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Annotation, Item, Job, ModelVersion, Project, utcnow
from labeler.services.data.quality import card_summary as quality_card_summary


def dataset_card(project: Project) -> dict[str, Any]:
    """Counts per label and split, annotators, agreement and model figures, guidelines."""
    by_label = db.session.execute(
        select(Item.split, Item.final_label, func.count(Item.id))
        .where(Item.project_id == project.id)
        .group_by(Item.split, Item.final_label)
    ).all()
    counts: dict[str, dict[str, int]] = {}
    for split, label, n in by_label:
        counts.setdefault(label or "(no final label)", {})[split] = n
    annotators = (
        db.session.scalar(
            select(func.count(func.distinct(Annotation.user_id))).where(
                Annotation.project_id == project.id
            )
        )
        or 0
    )
    n_annotations = (
        db.session.scalar(
            select(func.count(Annotation.id)).where(Annotation.project_id == project.id)
        )
        or 0
    )
    agreement = db.session.scalar(
        select(Job.result)
        .where(Job.project_id == project.id, Job.kind == "agreement", Job.status == "done")
        .order_by(Job.id.desc())
        .limit(1)
    )
    champion = db.session.get(ModelVersion, project.champion_id) if project.champion_id else None
    return {
        "project": project.name,
        "exported_at": utcnow().isoformat(timespec="seconds"),
        "labels": project.labels,
        "annotations_per_item": project.annotations_per_item,
        "consensus_method": project.consensus_method,
        "n_items": project.n_items,
        "n_annotations": n_annotations,
        "n_annotators": annotators,
        "final_labels_by_split": counts,
        "agreement": agreement or None,
        "model": None
        if champion is None
        else {
            "version": champion.id,
            "estimator": champion.estimator,
            "n_labels": champion.n_labels,
            "metrics": champion.metrics,
            "baselines": champion.baseline_metrics,
        },
        "guidelines": project.guidelines,
        # Data quality (labeler.services.data.quality): duplicates, field problems, gold.
        "quality": quality_card_summary(project),
    }


def card_markdown(card: dict[str, Any]) -> str:
    """The card as Markdown, for people."""
    lines = [
        f"# Dataset card: {card['project']}",
        "",
        f"Exported {card['exported_at']} UTC. {card['n_items']:,} items, "
        f"{card['n_annotations']:,} annotations by {card['n_annotators']} annotators "
        f"({card['annotations_per_item']} wanted per item; consensus: "
        f"{card['consensus_method']}).",
        "",
        "## Final labels",
        "",
        "| label | train | test |",
        "|---|---:|---:|",
    ]
    for label, splits in sorted(card["final_labels_by_split"].items()):
        lines.append(f"| {label} | {splits.get('train', 0):,} | {splits.get('test', 0):,} |")
    agreement = card.get("agreement") or {}
    if agreement:
        lines += ["", "## Agreement", ""]
        lines += [
            f"- {key}: {value}"
            for key, value in sorted(agreement.items())
            if isinstance(value, int | float | str)
        ]
    if card.get("model"):
        model = card["model"]
        lines += [
            "",
            "## Model",
            "",
            f"Version {model['version']} ({model['estimator']}, "
            f"{model['n_labels']:,} training labels).",
        ]
        lines += [
            f"- {key}: {value}"
            for key, value in sorted(model["metrics"].items())
            if isinstance(value, int | float)
        ]
    lines += quality_markdown(card.get("quality"))
    lines += ["", "## Label set", ""]
    lines += [
        f"- **{label['name']}**: {label.get('description') or ''}" for label in card["labels"]
    ]
    lines += ["", "## Guidelines", "", card["guidelines"] or "(none)", ""]
    return "\n".join(lines)


def quality_markdown(quality: dict[str, Any] | None) -> list[str]:
    """The data quality block of the card (see labeler.services.data.quality.card_summary)."""
    if not quality:
        return []
    lines = [
        "",
        "## Data quality",
        "",
        f"Checked {quality['computed_at']} UTC on "
        f"{quality['n_items']:,} items: {quality['exact_duplicate_copies'] or 0:,} exact "
        f"duplicate copies ({quality['linked_duplicates'] or 0:,} linked to their original), "
        f"{quality['near_duplicate_groups'] or 0:,} near-duplicate groups, "
        f"{quality['gold_items']:,} gold items.",
    ]
    for name, figures in quality["fields"].items():
        problems = ", ".join(
            f"{key.replace('_', ' ')} {value:,}" for key, value in figures.items() if value
        )
        lines.append(f"- {name}: {problems or 'no problems found'}")
    return lines
