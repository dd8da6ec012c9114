"""labeler: a human-in-the-loop labeling and active-learning server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labeler import config as config_module
from labeler.paths import resource_dir

if TYPE_CHECKING:
    from flask import Flask

__version__ = config_module.VERSION


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then instance/config.py, then LABELER_* variables.

    ``test_config`` replaces the file and the environment, so tests are isolated.
    """
    # Imported here, not at the top: ``labeler.client`` runs in notebooks without the
    # server's dependencies, and importing it imports this package first.
    from flask import Flask

    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "LABELER_INSTANCE_PATH"
    )
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
    )
    from labeler.web.json_provider import FastJSONProvider

    app.json = FastJSONProvider(app)
    app.config.from_mapping(config_module.DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_mapping(config_module.from_environment())
    else:
        app.config.from_mapping(test_config)
    _resolve_paths(app)
    _require_secret_key(app)

    from labeler import auth, db_engine, jobs, views
    from labeler.api import init_app as init_api
    from labeler.extensions import csrf, db, login_manager, migrate
    from labeler.web import security

    db.init_app(app)
    migrate.init_app(app, db, directory=str(resource_dir("migrations")), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    auth.init_app(app)
    security.init_app(app)
    views.init_app(app)
    init_api(app)
    db_engine.init_app(app)
    if app.config.get("JOB_EXECUTOR") == "rq":
        import labeler.jobs.rq  # noqa: F401  registers the "rq" backend (needs redis and rq)
    jobs.init_app(app)
    __import__("labeler.errors", fromlist=["_"]).init_app(app)  # 503 when the DB/Redis is away
    from labeler.cli import register_commands

    register_commands(app)
    return app


def _private_folder(folder: Path) -> None:
    """Create ``folder`` readable by labeler's user only: items, labels, models and the
    secret key are nobody else's business on a shared machine."""
    if not folder.exists():  # a folder the operator made and chose keeps its mode
        folder.mkdir(parents=True, mode=0o700)


def _private_sqlite_file(url: str) -> None:
    """Create the SQLite file with mode 0600 before SQLite does (its WAL and shared-memory
    files take the database file's mode)."""
    path = url.removeprefix("sqlite:///")
    if not url.startswith("sqlite:///") or path in ("", ":memory:"):
        return
    if Path(path).exists() or not Path(path).parent.is_dir():
        return
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _resolve_paths(app: Flask) -> None:
    instance = Path(app.instance_path)
    _private_folder(instance)
    url = app.config.get("DATABASE_URL") or f"sqlite:///{instance / 'labeler.sqlite'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    _private_sqlite_file(url)
    for key, sub in (
        ("MEDIA_FOLDER", "media"),
        ("ARTIFACT_FOLDER", "artifacts"),
        ("UPLOAD_FOLDER", "uploads"),
    ):
        folder = Path(app.config.get(key) or instance / sub).resolve()
        _private_folder(folder)
        app.config[key] = str(folder)
    if url.startswith("sqlite"):
        # Wait for a writer instead of failing at once; see labeler.db_engine for WAL.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
    else:
        # A server restart leaves dead connections in every process's pool: test each
        # one before use, so the first request after a restart does not fail.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})


def _require_secret_key(app: Flask) -> None:
    if app.config.get("SECRET_KEY"):
        return
    if app.debug or app.testing or app.config.get("DEMO"):
        app.config["SECRET_KEY"] = os.urandom(32).hex()
        return
    raise RuntimeError(
        "labeler refuses to start without a SECRET_KEY: set LABELER_SECRET_KEY or put "
        "SECRET_KEY = '...' in instance/config.py (`labeler init` writes one)."
    )
