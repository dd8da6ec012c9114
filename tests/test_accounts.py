"""Accounts, sessions and redirects: what a stolen cookie, a crafted link or a guesser gets.

- every redirect target taken from a request stays on this site (a property test of the
  one helper all of them use, and the login page itself);
- logging out, a password reset and a deactivation end sessions and tokens on the server;
- a guesser cannot lock the owner out, nor learn from the timing which users exist;
- the password policy is the same on the web form, the API and the CLI;
- cookies and proxies are configurable from LABELER_* variables, files are private, and
  authenticated responses are never publicly cacheable.
"""

from __future__ import annotations

import os
import stat
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from labeler import config as config_module
from labeler.extensions import db
from labeler.models import ApiToken, Item, User
from labeler.services import accounts, login_guard
from labeler.web.redirects import safe_target
from tests.conftest import PASSWORDS, bearer, make_app, user

HOSTILE_TARGETS = [
    "//evil.example/",
    "/\t/evil.example/",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    " //evil.example",
    "/\x00/evil.example",
    "/\u2028/evil.example",
    "/\ufeff/evil.example",
    "/" + "a" * 5000,
]


def _browser_reads(location: str) -> tuple[str, str]:
    """(scheme, host) of where a browser goes: it strips tabs and newlines, reads \\ as /."""
    cleaned = "".join(ch for ch in location.strip() if ch not in "\t\n\r").replace("\\", "/")
    parts = urlsplit(cleaned)
    return parts.scheme, parts.netloc


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_a_redirect_target_never_leaves_the_site(target):
    kept = safe_target(target, "/fallback")
    assert kept in ("/fallback", target)
    assert _browser_reads(kept) == ("", "")
    assert kept.startswith("/")


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_login_sends_a_crafted_next_home(client, auth, target):
    token = auth.csrf("/login")
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"username": "alice", "password": PASSWORDS["alice"], "csrf_token": token},
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert _browser_reads(location)[1] in ("", "localhost"), location
    assert urlsplit(location).path == "/"


def test_login_keeps_a_local_next(client, auth, project):
    token = auth.csrf("/login")
    response = client.post(
        f"/login?next=/projects/{project}",
        data={"username": "alice", "password": PASSWORDS["alice"], "csrf_token": token},
    )
    assert response.headers["Location"] == f"/projects/{project}"


def _stolen_cookie(client) -> str:
    return client.get_cookie("session").value


def _replay(app, cookie: str):
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief.get("/")


def test_logging_out_ends_the_session_on_the_server(app, client, auth):
    auth.login("alice")
    cookie = _stolen_cookie(client)
    assert _replay(app, cookie).status_code == 200  # the copy works while alice is in
    auth.post("/logout")
    assert _replay(app, cookie).status_code == 302  # ...and not once she has left


def _admin_updates(app, auth_admin, target: str, **form):
    with app.app_context():
        target_id = user(target).id
        current = user(target)
        defaults = {"role": current.role, "active": "on" if current.active else ""}
    data = {**defaults, **form}
    return auth_admin.post(f"/admin/users/{target_id}", data={k: v for k, v in data.items() if v})


@pytest.mark.parametrize(
    "change", [{"password": "a-new-long-secret"}, {"active": ""}], ids=["reset", "deactivate"]
)
def test_a_reset_or_deactivation_ends_sessions_and_tokens_at_once(app, auth, tokens, change):
    alice_client = app.test_client()
    from tests.conftest import Auth

    Auth(alice_client).login("alice")
    assert alice_client.get("/").status_code == 200
    assert alice_client.get("/api/v1/projects", headers=bearer(tokens["alice"])).status_code == 200
    auth.login("admin")
    assert _admin_updates(app, auth, "alice", **change).status_code == 302
    assert alice_client.get("/").status_code == 302
    assert alice_client.get("/api/v1/projects", headers=bearer(tokens["alice"])).status_code == 401
    with app.app_context():
        live = db.session.scalars(
            select(ApiToken).where(
                ApiToken.user_id == user("alice").id, ApiToken.revoked_at.is_(None)
            )
        ).all()
        assert live == []


def test_a_role_change_takes_effect_on_an_existing_session_and_token(app, auth, tokens):
    with app.app_context():
        user("bob").role = "admin"
        db.session.commit()
    bob_client = app.test_client()
    from tests.conftest import Auth

    def create_user(name: str) -> int:
        return bob_client.post(
            "/api/v1/users", json={"username": name}, headers=bearer(tokens["bob"])
        ).status_code

    Auth(bob_client).login("bob")
    assert bob_client.get("/admin/users").status_code == 200
    assert create_user("made-by-bob") == 201
    auth.login("admin")
    _admin_updates(app, auth, "bob", role="annotator")
    assert bob_client.get("/admin/users").status_code == 403
    assert create_user("made-by-bob-later") == 403  # the same token, no longer an admin's


def test_the_users_page_says_which_role_rules_on_a_project(client, auth):
    auth.login("admin")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "role on a project is set on its Members page" in " ".join(page.split())


def test_a_guesser_elsewhere_cannot_lock_the_owner_out(app, client, auth):
    token = auth.csrf("/login")
    guesser = {"REMOTE_ADDR": "203.0.113.7"}
    for _ in range(login_guard.MAX_FAILURES + 2):
        client.post(
            "/login",
            data={"username": "alice", "password": "guess", "csrf_token": token},
            environ_base=guesser,
        )
    blocked = client.post(
        "/login",
        data={"username": "alice", "password": PASSWORDS["alice"], "csrf_token": token},
        environ_base=guesser,
    )
    assert blocked.status_code == 429  # the guesser's address waits
    owner = app.test_client()
    owner_token = owner.get("/login").get_data(True).split('name="csrf-token" content="')[1][:200]
    owner_token = owner_token.split('"')[0]
    response = owner.post(
        "/login",
        data={"username": "alice", "password": PASSWORDS["alice"], "csrf_token": owner_token},
        environ_base={"REMOTE_ADDR": "198.51.100.2"},
    )
    assert response.status_code == 302  # the owner, elsewhere, logs in


def test_an_unknown_user_costs_the_same_password_check(app, monkeypatch):
    calls = []
    real = login_guard.check_password_hash

    def counting(stored, password):
        calls.append(stored.split("$", 1)[0])
        return real(stored, password)

    monkeypatch.setattr(login_guard, "check_password_hash", counting)
    monkeypatch.setattr("labeler.models.accounts.check_password_hash", counting)
    with app.app_context():
        assert not login_guard.password_matches(None, "whatever")
        assert not login_guard.password_matches(user("alice"), "whatever")
    assert len(calls) == 2 and calls[0] == calls[1]  # one check each, of the same method


@pytest.mark.parametrize("password", ["password123", "short", "x" * 300, "aaaaaaaaaa"])
def test_the_password_policy_is_the_same_on_the_api_and_the_form(
    app, client, auth, tokens, password
):
    problem = accounts.password_problem(password, "newbie")
    assert problem
    response = client.post(
        "/api/v1/users",
        json={"username": "newbie", "role": "annotator", "password": password},
        headers=bearer(tokens["admin"]),
    )
    assert response.status_code == 422
    detail = response.json["detail"]
    assert detail.get("field") == "password" or "password" in detail, detail
    if "field" in detail:  # the schema's length check answers before the policy does
        assert response.json["error"] == problem
    auth.login("admin")
    page = auth.post(
        "/admin/users", data={"username": "newbie", "password": password, "role": "annotator"}
    ).get_data(as_text=True)
    assert problem[1:] in page
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "newbie")) is None


def test_proxy_and_cookie_settings_come_from_labeler_variables(tmp_path, migrated_db):
    import shutil

    found = config_module.from_environment(
        {
            "LABELER_SESSION_COOKIE_SECURE": "true",
            "LABELER_TRUSTED_PROXIES": "1",
            "LABELER_PREFERRED_URL_SCHEME": "https",
        }
    )
    assert found == {
        "SESSION_COOKIE_SECURE": True,
        "TRUSTED_PROXIES": 1,
        "PREFERRED_URL_SCHEME": "https",
    }
    shutil.copy(migrated_db, tmp_path / "labeler.sqlite")
    app = make_app(tmp_path, **found)
    with app.app_context():
        alice = User(username="alice", role="annotator")
        alice.set_password(PASSWORDS["alice"])
        db.session.add(alice)
        db.session.commit()
    client = app.test_client()
    forwarded = {
        "X-Forwarded-For": "192.0.2.44",
        "X-Forwarded-Proto": "https",
        "Referer": "https://localhost/login",  # what CSRF checks on https
    }
    https = {"base_url": "https://localhost"}  # the client keeps Secure cookies for https
    page = client.get("/login", headers=forwarded, **https).get_data(True)
    token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login",
        data={"username": "alice", "password": "wrong", "csrf_token": token},
        headers=forwarded,
        **https,
    )
    with app.app_context():
        from labeler.models import AuditEvent

        reasons = {e.reason for e in db.session.scalars(select(AuditEvent))}
        assert "ip:192.0.2.44" in reasons  # the client's address, from the trusted hop
    response = client.post(
        "/login",
        data={"username": "alice", "password": PASSWORDS["alice"], "csrf_token": token},
        headers=forwarded,
        **https,
    )
    assert "Secure" in response.headers["Set-Cookie"]
    with app.app_context():
        db.engine.dispose()


def test_files_labeler_creates_are_its_users_only(tmp_path):
    instance = tmp_path / "fresh"
    app = make_app(instance, DATABASE_URL=f"sqlite:///{instance / 'labeler.sqlite'}")
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    for path in (instance, instance / "media", instance / "artifacts", instance / "uploads"):
        assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0, path
    assert stat.S_IMODE(os.stat(instance / "labeler.sqlite").st_mode) & 0o077 == 0


def test_authenticated_responses_are_never_publicly_cached(app, client, auth, project, tokens):
    from pathlib import Path

    from labeler.web.images import pixel_grid_png

    with app.app_context():
        item = db.session.scalars(select(Item)).first()
        (Path(app.config["MEDIA_FOLDER"]) / "pic.png").write_bytes(pixel_grid_png([1, 2], 1, 2))
        item.project.display = {**item.project.display, "image": "pic"}
        item.data = {**item.data, "pic": "pic.png"}
        db.session.commit()
        item_id = item.id
    auth.login("admin")
    for url in ("/", f"/projects/{project}", f"/projects/{project}/items/{item_id}/image"):
        response = client.get(url)
        assert response.status_code == 200, url
        response.close()
        cache = response.cache_control
        assert not cache.public and (cache.private or cache.no_store), (url, cache)
    api = client.get("/api/v1/projects", headers=bearer(tokens["admin"]))
    assert api.cache_control.no_store and not api.cache_control.public


def _post_pages(app) -> list:
    pages = [
        rule
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods
        and not rule.endpoint.startswith(("api.", "auth."))  # login: tested above
    ]
    return sorted(pages, key=lambda rule: rule.rule)


def test_no_redirect_target_taken_from_a_request_leaves_the_site(app, client, auth, project):
    """Every form page, with every field name the templates send (in the form and the
    query): a field whose value comes back in the Location is a redirect target, and
    each crafted target sent there must leave the browser on this site."""
    from urllib.parse import urlencode

    from tests.test_hostile_input import _fill, _form_fields

    with app.app_context():
        item_id = db.session.scalars(select(Item.id)).first()
        ids = {"project_id": project, "item_id": item_id, "user_id": user("dave").id}
    fields = _form_fields()
    auth.login("admin")
    csrf = auth.csrf()

    def post(rule, values: dict[str, str]):
        url = _fill(rule.rule, ids, None)
        response = client.post(f"{url}?{urlencode(values)}", data={**values, "csrf_token": csrf})
        response.close()
        return response.headers.get("Location", "")

    markers = {name: f"/marker-{name}" for name in fields}
    targets = []
    for rule in _post_pages(app):
        back = urlsplit(post(rule, markers)).path
        targets += [(rule, name) for name in fields if markers[name] == back]
    assert {(rule.endpoint, name) for rule, name in targets} >= {
        ("items.bulk_action", "back"),
        ("models.send_to_review", "next"),
    }, "the search found no redirect targets: it no longer works"
    failures = []
    for rule, name in targets:
        for target in HOSTILE_TARGETS:
            location = post(rule, {**markers, name: target})
            if _browser_reads(location)[1] not in ("", "localhost"):
                failures.append(f"{rule.endpoint} {name}={target!r} -> {location!r}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("junk", ["", "x", "-1", "1.0", "\u00b2", str(2**63), "9" * 30, "9" * 5000])
def test_the_members_form_adds_a_user_by_id_and_refuses_anything_else(
    app, client, auth, project, junk
):
    from labeler.models import Membership

    with app.app_context():
        dave = user("dave").id

    def memberships():
        with app.app_context():
            return db.session.scalars(
                select(Membership.role).where(
                    Membership.user_id == dave, Membership.project_id == project
                )
            ).all()

    before = memberships()
    auth.login("admin")
    refused = auth.post(f"/projects/{project}/members", {"user_id": junk, "role": "reviewer"})
    assert refused.status_code == 302 and memberships() == before
    assert "Choose a user." in client.get(refused.headers["Location"]).get_data(as_text=True)
    added = auth.post(f"/projects/{project}/members", {"user_id": str(dave), "role": "reviewer"})
    assert added.status_code == 302 and memberships() == ["reviewer"]
