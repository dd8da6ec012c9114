"""Every job kind a module registers is known to a bare worker process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_runner_modules_register_every_job_kind():
    declared = set()
    for path in (ROOT / "labeler").rglob("*.py"):
        if re.search(r"@jobs\.runner\(", path.read_text()):
            declared.add(".".join(path.relative_to(ROOT).with_suffix("").parts))
    from labeler import jobs

    assert declared <= set(jobs.RUNNER_MODULES), declared - set(jobs.RUNNER_MODULES)
    # a fresh interpreter that imports only RUNNER_MODULES knows the kinds
    code = (
        "import importlib; from labeler import jobs\n"
        "[importlib.import_module(m) for m in jobs.RUNNER_MODULES]\n"
        "print(sorted(jobs.RUNNERS))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    for kind in ("train", "export", "agreement", "consensus", "monitor", "quality"):
        assert f"'{kind}'" in out
