"""Careful rollout: challenger (canary), promote, roll back, retire, and the policy
for automatic promotion (DESIGN.md, "Deployment of models").

Each action is one call that changes the versions' statuses and writes an
:class:`~labeler.models.AuditEvent` (who, when, why) in the caller's transaction;
the caller commits once, so the switch of ``project.champion_id`` and the statuses
is atomic. Blue-green: the incoming version is loaded into the serving cache
*before* anything changes, so a missing or corrupt artifact refuses the action
and the current champion keeps serving; requests in flight keep the model they
already hold.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from labeler.core.artifacts import ModelArtifactError
from labeler.core.kinds import TaskKind
from labeler.extensions import db
from labeler.models import AuditEvent, ModelVersion, Project
from labeler.services import Conflict, ServiceError
from labeler.services.items import index_trigger
from labeler.services.projects import webhooks
from labeler.services.projects.kinds import kind_of
from labeler.services.serving import predict as serving

SERVABLE = ("candidate", "challenger", "retired")


def _audit(
    project: Project, user_id: int | None, action: str, reason: str, **detail: Any
) -> AuditEvent:
    event = AuditEvent(
        project_id=project.id,
        user_id=user_id,
        action=action,
        detail=detail,
        reason=reason.strip()[:2000],
    )
    db.session.add(event)
    if action in ROLLOUT_EVENTS:
        webhooks.emit(project, ROLLOUT_EVENTS[action], {"reason": event.reason, **detail})
    return event


ROLLOUT_EVENTS = {"promote": "model.promoted", "rollback": "model.rolled_back"}


def _warm(version: ModelVersion) -> None:
    """Load ``version`` beside the champion; Conflict if its artifact cannot serve."""
    kind = kind_of(db.session.get(Project, version.project_id))
    try:
        serving.cache().get(version, kind)
    except ModelArtifactError as exc:
        raise Conflict(
            f"model #{version.id} cannot serve: {exc.reason}", {"artifact": exc.path}
        ) from exc


def _check_servable(version: ModelVersion, action: str) -> None:
    if version.status not in SERVABLE:
        raise Conflict(
            f"cannot {action} model #{version.id}: it is {version.status}",
            {"allowed_from": list(SERVABLE)},
        )


ACTIONS = ("challenger", "promote", "rollback", "retire")


def act(
    project: Project,
    version: ModelVersion,
    action: str,
    user_id: int | None,
    reason: str = "",
    share: float = 0.1,
) -> AuditEvent:
    """Carry out one rollout action (``ACTIONS``); ``share`` is for ``challenger`` only.
    The caller commits, then re-ranks the queue if the champion changed."""
    if action == "challenger":
        return make_challenger(project, version, share, user_id, reason)
    if action == "promote":
        return promote(project, version, user_id, reason)
    if action == "rollback":
        return rollback(project, version, user_id, reason)
    if action == "retire":
        return retire(project, version, user_id, reason)
    raise ServiceError(f"unknown rollout action {action!r}", {"allowed": list(ACTIONS)})


def make_challenger(
    project: Project, version: ModelVersion, share: float, user_id: int | None, reason: str = ""
) -> AuditEvent:
    """Serve ``share`` (0 < share <= 1) of prediction requests from ``version``.

    A previous challenger goes back to candidate: one canary at a time.
    """
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        raise ServiceError("share must be a number above 0 and at most 1", {"field": "share"})
    _check_servable(version, "make a challenger of")
    _warm(version)
    previous = serving.challenger(project)
    if previous is not None and previous.id != version.id:
        previous.status, previous.traffic_share = "candidate", 0.0
    version.status, version.traffic_share = "challenger", float(share)
    return _audit(
        project,
        user_id,
        "make_challenger",
        reason,
        version_id=version.id,
        share=float(share),
        replaced_challenger_id=previous.id
        if previous is not None and previous.id != version.id
        else None,
    )


def promote(
    project: Project,
    version: ModelVersion,
    user_id: int | None,
    reason: str = "",
    automatic: bool = False,
) -> AuditEvent:
    """Make ``version`` the champion; the old champion is retired (rollback restores it)."""
    _check_servable(version, "promote")
    _warm(version)
    old = db.session.get(ModelVersion, project.champion_id) if project.champion_id else None
    if old is not None and old.id != version.id:
        old.status, old.traffic_share = "retired", 0.0
    version.status, version.traffic_share = "champion", 0.0
    project.champion_id = version.id
    index_trigger.request(project, "promote")  # the features "find similar" reads changed
    return _audit(
        project,
        user_id,
        "promote",
        reason,
        version_id=version.id,
        previous_champion_id=old.id if old is not None else None,
        automatic=automatic,
    )


def previous_champion(project: Project, version: ModelVersion) -> ModelVersion | None:
    """The champion ``version`` replaced, from the audit trail of promotions."""
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.project_id == project.id, AuditEvent.action.in_(("promote", "rollback")))
        .order_by(AuditEvent.id.desc())
    )
    for event in events:
        if (event.detail or {}).get("version_id") == version.id:
            previous_id = (event.detail or {}).get("previous_champion_id")
            found = db.session.get(ModelVersion, previous_id) if previous_id else None
            if found is not None and found.project_id == project.id:
                return found
            return None
    return None


def rollback(
    project: Project, version: ModelVersion | None, user_id: int | None, reason: str = ""
) -> AuditEvent:
    """Undo ``version`` (default: the champion).

    A challenger stops taking traffic and is retired. A champion is replaced by the
    champion it replaced (the same atomic switch as a promotion) and retired.
    """
    if version is None:
        version = serving.champion(project)
    if version.status == "challenger":
        version.status, version.traffic_share = "retired", 0.0
        return _audit(project, user_id, "rollback", reason, version_id=version.id, was="challenger")
    if version.status != "champion" or project.champion_id != version.id:
        raise Conflict(
            f"model #{version.id} is {version.status}: only the champion or a "
            "challenger can be rolled back"
        )
    previous = previous_champion(project, version)
    if previous is None or previous.status == "failed":
        raise Conflict(
            f"model #{version.id} replaced no earlier champion to go back to",
            "promote another version instead",
        )
    _warm(previous)
    version.status, version.traffic_share = "retired", 0.0
    previous.status, previous.traffic_share = "champion", 0.0
    project.champion_id = previous.id
    index_trigger.request(project, "rollback")
    return _audit(
        project,
        user_id,
        "rollback",
        reason,
        version_id=previous.id,
        previous_champion_id=version.id,
        rolled_back_id=version.id,
        was="champion",
    )


def retire(
    project: Project, version: ModelVersion, user_id: int | None, reason: str = ""
) -> AuditEvent:
    """Take a candidate or challenger out of consideration (the champion cannot be)."""
    if version.status == "champion":
        raise Conflict(
            f"model #{version.id} is the champion: promote another version or roll back first"
        )
    if version.status not in SERVABLE:
        raise Conflict(f"cannot retire model #{version.id}: it is {version.status}")
    version.status, version.traffic_share = "retired", 0.0
    return _audit(project, user_id, "retire", reason, version_id=version.id)


def promotion_margin() -> float:
    """LABELER_PROMOTION_MARGIN: by how much macro-F1 must beat champion and baselines."""
    return float(current_app.config.get("PROMOTION_MARGIN", 0.0))


def policy_verdict(
    version: ModelVersion, champion: ModelVersion | None, margin: float
) -> tuple[bool, list[str]]:
    """Whether ``version`` may be promoted without a person, and why (or why not).

    It must have a test-split macro-F1 that beats the majority and stratified
    baselines and the champion (its score on the same test items, else its own
    recorded score) each by ``margin``.
    """
    metrics, baselines = version.metrics or {}, version.baseline_metrics or {}
    score = metrics.get("macro_f1")
    if score is None:
        return False, ["no test-split score: waits for a person"]
    rivals: dict[str, Any] = {
        name: (baselines.get(name) or {}).get("macro_f1") for name in ("majority", "stratified")
    }
    if champion is not None and champion.id != version.id:
        same_items = baselines.get("previous") or {}
        rivals[f"champion #{champion.id}"] = (
            same_items.get("macro_f1")
            if same_items.get("version_id") == champion.id
            else (champion.metrics or {}).get("macro_f1")
        )
    reasons, passed = [], True
    for name, rival in rivals.items():
        if rival is None:
            passed = False
            reasons.append(f"{name}: no score to compare with")
        else:
            passed = _against(float(score), name, float(rival), margin, reasons) and passed
    return passed, reasons


def _against(score: float, name: str, rival: float, margin: float, reasons: list[str]) -> bool:
    """One plain statement of the comparison: the lead, the margin required, the verdict."""
    lead = score - rival
    verdict = "passes" if score >= rival + margin else "fails"
    ahead = f"ahead by {lead:.3f}" if lead >= 0 else f"behind by {-lead:.3f}"
    reasons.append(
        f"macro-F1 {score:.3f} vs {name} {rival:.3f}: {ahead}; "
        f"the margin required is {margin:.3f}: {verdict}"
    )
    return verdict == "passes"


def kind_verdict(
    version: ModelVersion, champion: ModelVersion | None, margin: float, kind: TaskKind
) -> tuple[bool, list[str]]:
    """:func:`policy_verdict` for a kind that trains its own model: its headline
    metric (``kind.headline_metric``, higher or lower better as the kind says) must
    beat every baseline the kind reports and the champion's recorded score by
    ``margin``."""
    metric, sign = kind.headline_metric, 1.0 if kind.headline_higher_is_better else -1.0
    metrics, baselines = version.metrics or {}, version.baseline_metrics or {}
    score = metrics.get(metric)
    if score is None:
        return False, [f"no test-split {metric}: waits for a person"]
    rivals: dict[str, Any] = {name: (found or {}).get(metric) for name, found in baselines.items()}
    if champion is not None and champion.id != version.id:
        rivals[f"champion #{champion.id}"] = (champion.metrics or {}).get(metric)
    if not rivals:
        return False, ["no baseline to compare with: waits for a person"]
    reasons, passed = [], True
    for name, rival in rivals.items():
        if rival is None:
            passed = False
            reasons.append(f"{name}: no {metric} to compare with")
            continue
        lead = sign * (float(score) - float(rival))
        verdict = "passes" if lead >= margin else "fails"
        better = "higher" if kind.headline_higher_is_better else "lower"
        reasons.append(
            f"{metric} {float(score):.3f} vs {name} {float(rival):.3f} ({better} is better): "
            f"lead {lead:.3f}; the margin required is {margin:.3f}: {verdict}"
        )
        passed = passed and verdict == "passes"
    return passed, reasons


def verdict(
    project: Project, version: ModelVersion, champion: ModelVersion | None
) -> tuple[bool, list[str]]:
    """The promotion verdict by the project's kind (see :func:`policy_verdict`)."""
    kind = kind_of(project)
    if kind.label_classifier:
        return policy_verdict(version, champion, promotion_margin())
    return kind_verdict(version, champion, promotion_margin(), kind)


def after_training(project: Project, version: ModelVersion) -> dict[str, Any]:
    """Hook for the training job, once ``version`` is evaluated and saved: promote it
    automatically under the policy, otherwise leave it a candidate for a person.

    Writes an audit event either way; the caller commits. A version the training job
    already made champion is left alone.
    """
    if version.status == "champion":
        return {"promoted": False, "reasons": ["already the champion"]}
    champion = db.session.get(ModelVersion, project.champion_id) if project.champion_id else None
    passed, reasons = verdict(project, version, champion)
    if version.status == "training":
        version.status = "candidate"
    if passed and version.status in SERVABLE:
        try:
            promote(project, version, None, "automatic: " + "; ".join(reasons), automatic=True)
        except Conflict as exc:
            reasons.append(exc.message)
        else:
            return {"promoted": True, "reasons": reasons}
    _audit(project, None, "promotion_waits", "; ".join(reasons), version_id=version.id)
    return {"promoted": False, "reasons": reasons}


def history(project: Project, limit: int = 50) -> list[AuditEvent]:
    """The project's rollout audit trail, newest first."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.project_id == project.id,
                AuditEvent.action.in_(
                    ("make_challenger", "promote", "rollback", "retire", "promotion_waits")
                ),
            )
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
    )
