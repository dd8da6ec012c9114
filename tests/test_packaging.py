"""A plain ``pip install .`` must carry templates, static files and migrations."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_carries_templates_static_and_migrations(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        cwd=tmp_path,
    )
    wheel = next(tmp_path.glob("labeler-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    # every page and every script the pages load, found by listing the folders
    for folder in ("templates", "static"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file():
                shipped = f"labeler/{folder}/{path.relative_to(ROOT / folder).as_posix()}"
                assert shipped in names, shipped
    for required in (
        "labeler/migrations/env.py",
        "labeler/migrations/alembic.ini",
        "labeler/migrations/script.py.mako",
    ):
        assert required in names, required
    packages = {
        p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "labeler").rglob("__init__.py")
    }
    for package in packages:
        assert f"{package}/__init__.py" in names, f"{package} is missing from the wheel"
    versions = [n for n in names if n.startswith("labeler/migrations/versions/")]
    assert any(n.endswith(".py") for n in versions)


def test_the_version_is_said_once_in_each_place():
    import tomllib

    from labeler import __version__
    from labeler.config import VERSION

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == VERSION == __version__
