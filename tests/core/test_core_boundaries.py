"""The pure core stays pure (DESIGN.md, "Layers and rooms") and type-checks strictly."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "labeler" / "core"
FORBIDDEN = ("flask", "sqlalchemy", "flask_sqlalchemy", "werkzeug")


def _core_files() -> list[Path]:
    """Every module of the core, found by listing the folder: a new one is covered at once."""
    return sorted(CORE.rglob("*.py"))


def test_the_core_is_found():
    names = {p.stem for p in _core_files()}
    assert {"agreement", "consensus", "sampling", "training", "evaluation", "drift"} <= names


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: p.stem)
def test_core_modules_import_no_web_or_database_code(path):
    bad = {
        name
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
        # of labeler itself, the core may import only the core
        or (name.startswith("labeler") and not name.startswith("labeler.core"))
    }
    assert not bad, f"{path.name} imports {sorted(bad)}"


def test_the_core_passes_mypy_strict():
    if (
        shutil.which("mypy") is None
        and subprocess.run(
            [sys.executable, "-m", "mypy", "--version"], capture_output=True
        ).returncode
    ):
        pytest.fail("mypy is missing: pip install -e '.[dev]'")
    files = [str(p) for p in _core_files()]
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", *files],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:]
