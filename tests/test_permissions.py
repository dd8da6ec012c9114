"""Every route × every role, generated from the app's URL map: a new route cannot be missed.

Anonymous users are sent to the login page (pages) or get 401 (API); users who are
not members of a project get 404 for it (its name does not leak); a role too low
gets 403.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from labeler.auth import create_token
from labeler.extensions import db
from labeler.models import Assignment, Item, utcnow
from labeler.services.labeling import queue
from labeler.web.images import pixel_grid_png
from tests.conftest import bearer, user

ROLES = ("anonymous", "outsider", "annotator", "reviewer", "admin")
USERS = {"outsider": "carol", "annotator": "alice", "reviewer": "rita", "admin": "admin"}

# endpoint -> lowest role allowed: "public", "login" (any user), "member", "reviewer", "admin"
MATRIX = {
    "auth.login": "public",
    "auth.logout": "public",
    "auth.tokens": "login",
    "auth.revoke_token": "owner",
    "projects.index": "login",
    "projects.show": "member",
    "projects.image": "member",
    "annotate.form": "member",
    "admin.users": "admin",
    "admin.update_user": "admin",
    "admin.new_project": "admin",
    "admin.settings": "admin",
    "admin.colours": "admin",
    "admin.members": "admin",
    "admin.delete_project": "admin",
    "importing.upload": "admin",
    "importing.mapping": "admin",
    "importing.job": "admin",
    "export.page": "reviewer",
    "export.download": "reviewer",
    "export.start_job": "reviewer",
    "export.file": "reviewer",
    "export.card": "reviewer",
    "apidocs.page": "public",
    "api-docs.openapi_json": "public",
    "api.export": "reviewer",
    "api.export_job": "reviewer",
    "api.export_job_status": "reviewer",
    "api.export_job_file": "reviewer",
    "api.card": "reviewer",
    "review.queue": "reviewer",
    "review.item": "reviewer",
    "review.decide": "reviewer",
    "agreement.page": "reviewer",
    "agreement.recompute": "reviewer",
    "agreement.errors": "reviewer",
    "api.review_queue": "reviewer",
    "api.review_item": "reviewer",
    "api.agreement_figures": "reviewer",
    "api.annotation_errors": "reviewer",
    "api.systems_ranking": "reviewer",
    "api.order_effects": "reviewer",
    "api.preference_pairs": "reviewer",
    "ranking.page": "reviewer",
    "quality.report": "reviewer",
    "quality.run": "reviewer",
    "quality.gold_page": "reviewer",
    "quality.mark_gold": "admin",
    "quality.unmark_gold": "admin",
    "quality.gold_settings": "admin",
    "quality.labelset_page": "admin",
    "quality.annotators": "reviewer",
    "quality.guideline_versions": "reviewer",
    "api.quality_report": "reviewer",
    "api.quality_job": "reviewer",
    "api.gold_figures": "reviewer",
    "api.change_gold": "admin",
    "api.change_labelset": "admin",
    "api.annotators_weekly": "reviewer",
    "api.guideline_versions": "reviewer",
    "models.progress": "reviewer",  # model internals follow from others' labels
    "models.errors": "reviewer",  # model internals follow from others' labels
    "models.train": "reviewer",
    "models.settings": "admin",
    "models.send_to_review": "reviewer",
    "models.review_top_issues": "reviewer",
    "api.label_issues": "reviewer",
    "api.review_label_issues": "reviewer",
    "api.train_project": "reviewer",
    "api.list_models": "reviewer",  # model internals follow from others' labels
    "api.show_model": "reviewer",  # model internals follow from others' labels
    "api.show_job": "member",
    "api.list_projects": "login",
    "api.create": "admin",
    "api.show": "member",
    "api.import_items": "admin",
    "api.list_items": "reviewer",
    "api.next_items": "member",
    "api.get_item": "member",
    "api.annotate": "member",
    "api.skip": "member",
    "api.progress": "member",
    "api.my_annotations": "member",
    "api.predict": "member",
    "api.make_challenger": "admin",
    "api.promote_model": "admin",
    "api.rollback_model": "admin",
    "api.retire_model": "admin",
    "api.monitoring_figures": "reviewer",  # model internals follow from others' labels
    "monitoring.page": "reviewer",  # model internals follow from others' labels
    "monitoring.challenger": "admin",
    "monitoring.promote": "admin",
    "monitoring.rollback": "admin",
    "monitoring.retire": "admin",
    "monitoring.check": "reviewer",
    "monitoring.resolve_alert": "reviewer",
    "items.browse": "member",
    "items.show": "member",
    "items.bulk_action": "reviewer",
    "items.comment": "member",
    "api.browse_items": "member",
    "api.item_record": "member",
    "api.list_comments": "member",
    "api.add_comment": "member",
    "api.open_comments": "reviewer",
    "api.bulk_items": "reviewer",
    "items.build_index": "reviewer",
    "items.similar_page": "reviewer",
    "items.suggestions_page": "reviewer",
    "api.suggestion_report": "reviewer",
    "api.similar_items": "reviewer",
    "api.build_items_index": "reviewer",
    "api.update_project": "admin",
    "api.create_user": "admin",
    "api.add_member": "admin",
    "api.create_user_token": "admin",
    "webhooks.page": "admin",
    "webhooks.create": "admin",
    "webhooks.send_test": "admin",
    "webhooks.enable": "admin",
    "webhooks.delete": "admin",
    "api.list_webhooks": "admin",
    "api.create_webhook": "admin",
    "api.test_webhook": "admin",
    "api.webhook_deliveries": "admin",
    "api.export_in_format": "reviewer",
    "api.import_in_format": "admin",
}

DENIED = {
    "public": set(),
    "login": {"anonymous"},
    "owner": {"anonymous"},
    "member": {"anonymous", "outsider"},
    "reviewer": {"anonymous", "outsider", "annotator"},
    "admin": {"anonymous", "outsider", "annotator", "reviewer"},
}


def _routes(app):
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]
    # log out last; delete the webhook just before, once every webhook route has used it
    return sorted(
        rules,
        key=lambda rule: (
            rule.endpoint == "auth.logout",
            "delete" in rule.endpoint and "webhook" in rule.endpoint,
        ),
    )


def test_every_route_is_in_the_matrix(app):
    missing = {rule.endpoint for rule in _routes(app)} - set(MATRIX)
    assert not missing, f"add these routes to the permission matrix: {sorted(missing)}"


def _finished_export(project_id: int) -> int:
    from labeler.models import Job

    job = Job(
        kind="export",
        project_id=project_id,
        status="done",
        result={"rows": 0},
        params={"view": "items", "format": "csv"},
    )
    db.session.add(job)
    db.session.flush()
    from labeler.services.data.export_job import export_path

    export_path(job).write_text("external_id\n")
    return job.id


def _finished_import(project_id: int) -> int:
    from labeler.models import Job
    from labeler.services.data.import_spec import ImportReport

    job = Job(
        kind="import",
        project_id=project_id,
        status="done",
        progress=1.0,
        params={"name": "old.csv"},
        result=ImportReport().as_dict(),
    )
    db.session.add(job)
    db.session.flush()
    return job.id


def _model_version(project_id: int) -> int:
    from labeler.models import ModelVersion

    version = ModelVersion(project_id=project_id, status="failed", error="test")
    db.session.add(version)
    db.session.flush()
    return version.id


def _webhook(app, project_id: int) -> int:
    from labeler.models import Project
    from labeler.services.projects import webhooks

    app.config["WEBHOOK_JOB_SECONDS"] = 0  # a test event to a closed port: no waiting to retry
    hook = webhooks.register(
        db.session.get(Project, project_id), "http://127.0.0.1:9/", ["model.trained"], None
    )
    return hook.id


def _give_a_picture(app, item) -> None:
    (Path(app.config["MEDIA_FOLDER"]) / "pic.png").write_bytes(pixel_grid_png([1, 2, 3, 4], 2, 2))
    item.project.display = {**item.project.display, "image": "pic"}
    item.data = {**item.data, "pic": "pic.png"}


def _url(rule, ids):
    return rule.build({key: ids[key] for key in rule.arguments})[1]


@pytest.mark.parametrize("role", ROLES)
def test_route_role_matrix(app, client, auth, project, tokens, role):
    with app.app_context():
        item = db.session.scalars(select(Item)).first()
        _give_a_picture(app, item)
        ids = {
            "project_id": project,
            "item_id": item.id,
            "user_id": user("dave").id,
            # a spare token of the user's own, so revoking it spares the one in use
            "token_id": create_token(user(USERS.get(role, "alice")), "spare")[0].id,
            "job_id": _finished_export(project),
            "import_job_id": _finished_import(project),
            "version_id": _model_version(project),
            "webhook_id": _webhook(app, project),
            "fmt": "prodigy",
        }
        if role != "anonymous":  # annotators may read only items they hold or labeled
            queue.skip(item.project, user(USERS[role]), item)
            lease = db.session.scalars(select(Assignment)).one()
            lease.skipped, lease.expires_at = False, utcnow() + timedelta(hours=1)
        db.session.commit()
    if role != "anonymous":
        auth.login(USERS[role])
    csrf = auth.csrf("/login" if role == "anonymous" else "/account/tokens")
    failures = []
    for rule in _routes(app):
        method = next(m for m in ("GET", "POST", "PATCH") if m in rule.methods)
        url = _url(rule, ids)
        api = rule.endpoint.startswith("api.")
        headers = bearer(tokens[USERS[role]]) if api and role != "anonymous" else {}
        data = {} if api else {"csrf_token": csrf}
        response = client.open(url, method=method, headers=headers, data=data or None)
        response.close()
        denied = role in DENIED[MATRIX[rule.endpoint]]
        status = response.status_code
        was_denied = status in (401, 403, 404) or (
            status == 302 and "/login" in response.headers["Location"]
        )
        if rule.endpoint in ("auth.login", "auth.logout") and status == 302:
            was_denied = False  # sent on to where a user of that state belongs
        if denied != was_denied or status >= 500:
            failures.append(f"{method} {url} as {role}: {status}")
        if denied and role == "anonymous":
            assert status == (401 if api else 302), f"{url}: {status}"
    assert not failures, failures
