"""The app factory: configuration sources, secure defaults, where resources are found."""

from __future__ import annotations

import pytest

from labeler import create_app
from labeler.config import from_environment
from labeler.paths import resource_dir


def test_refuses_to_start_without_a_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("LABELER_SECRET_KEY", raising=False)
    monkeypatch.setenv("LABELER_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="refuses to start without a SECRET_KEY"):
        create_app()


def test_instance_config_then_environment(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text("SECRET_KEY = 'from-file'\nLEASE_SECONDS = 60\n")
    monkeypatch.setenv("LABELER_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("LABELER_LEASE_SECONDS", "120")
    monkeypatch.delenv("LABELER_SECRET_KEY", raising=False)
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-file"
    assert app.config["LEASE_SECONDS"] == 120
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'labeler.sqlite'}"


def test_bad_typed_environment_values_are_named():
    with pytest.raises(RuntimeError, match="LABELER_LEASE_SECONDS='soon'"):
        from_environment({"LABELER_LEASE_SECONDS": "soon"})


def test_resources_are_found_from_a_checkout():
    for name in ("templates", "static", "migrations"):
        assert resource_dir(name).is_dir()


def test_pages_carry_a_strict_csp_and_safe_cookies(client, auth):
    response = client.get("/login")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    auth.login("alice")
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


def test_no_template_has_inline_script_or_external_resources():
    for path in resource_dir("templates").rglob("*.html"):
        html = path.read_text()
        assert "<script>" not in html and " on" + "click=" not in html, path
        assert "http://" not in html and "https://" not in html, path
