"""The ``labeler`` script on a fresh install: no instance, no config, no secret key.

Each command runs in its own process from an empty folder, as a new user would run it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from labeler.cli import labeler_commands
from labeler.cli.main import LabelerGroup, _create_app

ROOT = Path(__file__).resolve().parents[1]


def _labeler(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABELER_", "FLASK_"))}
    env["LABELER_INSTANCE_PATH"] = str(folder / "instance")
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-c", "from labeler.cli.main import main; main()", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_lists_every_command_before_any_configuration(tmp_path):
    result = _labeler(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for command in labeler_commands():
        assert f"  {command.name} " in result.stdout, command.name
    assert not (tmp_path / "instance").exists()  # help creates nothing


def test_every_command_has_help_before_any_configuration(tmp_path, monkeypatch):
    # In this process, to spare a start per command: the same group the script builds.
    for name in [n for n in os.environ if n.startswith(("LABELER_", "FLASK_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LABELER_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.chdir(tmp_path)
    group = LabelerGroup(create_app=_create_app)
    for command in labeler_commands():
        result = CliRunner().invoke(group, [command.name, "--help"], prog_name="labeler")
        assert result.exit_code == 0, (command.name, result.output, result.exception)
        assert result.output.startswith(f"Usage: labeler {command.name}"), result.output
    assert not (tmp_path / "instance").exists()


def test_a_command_that_needs_an_instance_says_so_without_a_traceback(tmp_path):
    result = _labeler(tmp_path, "token", "admin")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "labeler init" in result.stderr and "LABELER_SECRET_KEY" in result.stderr


def test_init_then_demo_work_in_an_empty_folder(tmp_path):
    init = _labeler(tmp_path, "init", "--admin-username", "root", "--admin-password", "long-enough")
    assert init.returncode == 0, init.stderr
    assert "Created admin 'root'" in init.stdout
    config = tmp_path / "instance" / "config.py"
    assert "SECRET_KEY" in config.read_text() and config.stat().st_mode & 0o077 == 0

    other = tmp_path / "other"
    other.mkdir()
    demo = _labeler(other, "demo", "--no-serve")
    assert demo.returncode == 0, demo.stderr
    assert "demo-alice" in demo.stdout
