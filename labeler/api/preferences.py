"""API: what pairwise votes add up to — the systems' ranking, order effects per
annotator, and preference-tuning pairs (reviewer or admin)."""

from __future__ import annotations

import csv
import io
import json

from flask import Response, request
from marshmallow import Schema, fields

from labeler.api.blueprint import bp, documented
from labeler.api.common import api_project
from labeler.api.schemas import one_of
from labeler.services.data.export import flag
from labeler.services.labeling import preferences


class SystemRank(Schema):
    rank = fields.Integer(metadata={"description": "1 = best"})
    system = fields.String()
    strength = fields.Float(
        metadata={"description": "Bradley-Terry log-strength, centred on 0; a difference "
                  "of 1.0 means the stronger wins 73% of their games"}
    )  # fmt: skip
    low = fields.Float(metadata={"description": "95% bootstrap interval of strength"})
    high = fields.Float()
    rank_low = fields.Float(metadata={"description": "best rank within the interval"})
    rank_high = fields.Float(metadata={"description": "worst rank within the interval"})
    wins = fields.Float()
    losses = fields.Float()
    ties = fields.Float()


class Ranking(Schema):
    systems = fields.List(fields.Nested(SystemRank))
    win_rates = fields.Dict(
        metadata={"description": "row system -> column system -> share of games won "
                  "(ties half), null where they never met"}
    )  # fmt: skip
    n_comparisons = fields.Integer()
    ties = fields.String(metadata={"description": "half | davidson"})
    tie_parameter = fields.Float(
        allow_none=True,
        metadata={"description": "Davidson's nu (>= 0): equal systems tie nu / (2 + nu) "
                  "of the time; null when ties count half"},
    )  # fmt: skip


class OrderEffect(Schema):
    annotator = fields.String()
    n_decided = fields.Integer()
    left_share = fields.Float(metadata={"description": "share of A/B votes for the left side"})
    expected = fields.Float(metadata={"description": "0.5: the order shown is random"})
    z = fields.Float(metadata={"description": "beyond +-2 is unlikely by chance"})
    bias = fields.Float(metadata={"description": "-1..1, votes given to a side regardless"})
    a_share = fields.Float()
    a_share_corrected = fields.Float(allow_none=True)


class OrderEffects(Schema):
    annotators = fields.List(fields.Nested(OrderEffect))


@bp.get("/projects/<int:project_id>/ranking")
@documented(
    schema=Ranking,
    errors=(401, 403, 404, 422),
    params=(
        ("format", one_of("json", "csv"), "csv: the systems' table only"),
        ("ties", one_of("half", "davidson"), "a tie as half a win, or Davidson's tie model"),
    ),
    files=("text/csv",),
)
def systems_ranking(project_id: int):
    """The systems ranked by a Bradley-Terry fit on the final votes, with intervals."""
    project, _ = api_project(project_id, "reviewer")
    result = preferences.ranking(project, ties=request.args.get("ties") or "half")
    if request.args.get("format", "json") != "csv":
        return result
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=preferences.RANKING_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(result["systems"])
    return Response(out.getvalue(), mimetype="text/csv")


@bp.get("/projects/<int:project_id>/order-effects")
@documented(schema=OrderEffects, errors=(401, 403, 404, 422))
def order_effects(project_id: int):
    """Each annotator's share of "left" votes against the share expected."""
    project, _ = api_project(project_id, "reviewer")
    return {"annotators": preferences.order_effects(project)}


@bp.get("/projects/<int:project_id>/preference-pairs")
@documented(
    errors=(401, 403, 404, 422),
    params=(("include_ties", "boolean", "also ties and both-bad pairs"),),
    files=("application/x-ndjson",),
)
def preference_pairs(project_id: int):
    """Final pairs as JSONL: prompt, chosen, rejected, systems, margin, agreement."""
    project, _ = api_project(project_id, "reviewer")
    include = flag(request.args.get("include_ties", ""), "include_ties")
    records = preferences.preference_pairs(project, include)
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    return Response(
        body,
        mimetype="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="preferences-{project.id}.jsonl"'},
    )
