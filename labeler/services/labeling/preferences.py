"""Reports of kinds that compare two systems' responses: the ranking of the systems,
the order effects per annotator, and preference-tuning records.

Each asks the project's kind (``comparisons``, ``order_effects``, ``preference_pairs``);
a kind that has none of them answers None and the service says so (422), so no caller
tests a kind's name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from labeler.core import preference_ranking
from labeler.extensions import db
from labeler.models import Annotation, Item, ModelVersion, Project, User
from labeler.services import ServiceError
from labeler.services.projects import kinds

BOOTSTRAP = 200  # resamples for the strength intervals


def _votes(project: Project) -> pd.DataFrame:
    """Every vote: item, annotator (username), key, value (typed)."""
    kind = kinds.kind_of(project)
    rows = db.session.execute(
        select(Annotation.item_id, User.username, Annotation.label, Annotation.value)
        .join(User, User.id == Annotation.user_id)
        .where(Annotation.project_id == project.id)
        .order_by(Annotation.id)
    ).all()
    return pd.DataFrame(
        [(item, who, key, kind.decode(key, value)) for item, who, key, value in rows],
        columns=["item", "annotator", "key", "value"],
    )


def _final_items(project: Project) -> pd.DataFrame:
    """Items with a final value: item, external_id, data, value (typed)."""
    kind = kinds.kind_of(project)
    rows = db.session.execute(
        select(Item.id, Item.external_id, Item.data, Item.final_label, Item.final_value)
        .where(Item.project_id == project.id, Item.final_label.is_not(None))
        .order_by(Item.id)
    ).all()
    return pd.DataFrame(
        [(i, e, data, kind.decode(key, value)) for i, e, data, key, value in rows],
        columns=["item", "external_id", "data", "value"],
    )


def _refuse(project: Project, what: str) -> ServiceError:
    return ServiceError(f"{what}: a {project.task_kind} project has none", {"field": "task_kind"})


def ranking(project: Project, n_bootstrap: int = BOOTSTRAP, ties: str = "half") -> dict[str, Any]:
    """The systems by Bradley-Terry strength on the final votes, with 95% bootstrap
    intervals, and the win-rate matrix (row's share of games won against column).
    ``ties``: half (a tie is half a win each) or davidson (a tie parameter is fitted)."""
    if ties not in ("half", "davidson"):
        raise ServiceError("ties must be half or davidson", {"field": "ties"})
    comparisons = kinds.kind_of(project).comparisons(_final_items(project), kinds.context(project))
    if comparisons is None:
        raise _refuse(project, "a ranking of systems")
    counts = preference_ranking.comparisons(comparisons)
    if len(counts.systems) < 2:
        return {"systems": [], "win_rates": {}, "n_comparisons": 0, "ties": ties,
                "tie_parameter": None}  # fmt: skip
    table = preference_ranking.ranking(comparisons, n_bootstrap=n_bootstrap, ties=ties)
    rates = preference_ranking.win_rate_matrix(counts)
    return {
        "systems": [
            {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in table.to_dict(orient="records")
        ],
        "win_rates": {
            row: {col: None if np.isnan(v) else float(v) for col, v in rates.loc[row].items()}
            for row in rates.index
        },
        "n_comparisons": int(counts.wins.sum() + counts.ties.sum() / 2),
        "ties": ties,
        "tie_parameter": table.attrs["tie_parameter"],
    }


RANKING_COLUMNS = ("rank", "system", "strength", "low", "high", "rank_low", "rank_high",
                   "wins", "losses", "ties")  # fmt: skip


def order_effects(project: Project) -> list[dict[str, Any]]:
    """Per annotator: share of "left" votes against the share expected, and the
    preference share with the side habit taken out (see ``core.position_bias``)."""
    votes = _votes(project)
    report = kinds.kind_of(project).order_effects(votes, kinds.context(project))
    if report is None:
        raise _refuse(project, "an order-effects report")
    return [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        for row in report.to_dict(orient="records")
    ]


def preference_pairs(project: Project, include_ties: bool = False) -> list[dict[str, Any]]:
    """Final items as prompt / chosen / rejected records (see the kind's docstring)."""
    records = kinds.kind_of(project).preference_pairs(
        _final_items(project), _votes(project), kinds.context(project), include_ties
    )
    if records is None:
        raise _refuse(project, "preference pairs")
    return records


LENGTH_ONLY = 0.9  # a model that sides with the longer response this often learnt little else


def _baseline(baselines: dict[str, Any], name: str) -> float | None:
    found = baselines.get(name)
    return found.get("accuracy") if isinstance(found, dict) else None


def length_agreement(project: Project, limit: int = 10) -> list[dict[str, Any]]:
    """Per evaluated model version (newest first), on the decided test pairs: its
    accuracy, log loss and expected calibration error; the baselines' accuracy ("always
    the longer response", the majority side of the training votes); the human level
    (annotators against the others' majority on the test pairs); and
    ``agrees_with_length`` (0..1: the share of pairs of unequal length where the model
    prefers the longer response; at or above :data:`LENGTH_ONLY` it has learnt little
    beyond "longer is better"). Empty for kinds whose models compare no responses."""
    versions = db.session.scalars(
        select(ModelVersion)
        .where(ModelVersion.project_id == project.id, ModelVersion.status != "failed")
        .order_by(ModelVersion.id.desc())
        .limit(limit)
    )
    rows = []
    for version in versions:
        metrics = version.metrics or {}
        if "agrees_with_length" not in metrics:
            continue
        agrees = metrics.get("agrees_with_length")
        baselines = version.baseline_metrics or {}
        longer = _baseline(baselines, "longer_response")
        rows.append(
            {
                "version_id": version.id,
                "status": version.status,
                "n_labels": version.n_labels,
                "n_test": metrics.get("n_test"),
                "accuracy": metrics.get("accuracy"),
                "log_loss": metrics.get("log_loss"),
                "calibration_error": (metrics.get("calibration") or {}).get(
                    "expected_calibration_error"
                ),
                "longer_response_accuracy": longer
                if longer is not None
                else metrics.get("longer_response_accuracy"),
                "majority_side_accuracy": _baseline(baselines, "majority_side"),
                "human_level": (metrics.get("hlp") or {}).get("overall"),
                "agrees_with_length": agrees,
                "length_only": agrees is not None and agrees >= LENGTH_ONLY,
            }
        )
    return rows
