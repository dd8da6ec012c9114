"""Without Chromium the browser tests skip, saying how to install it; in CI they fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run_a_browser_test(ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["LABELER_TEST_CHROMIUM"] = "/nonexistent/chromium"
    if ci:
        env["CI"] = "1"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-m",
            "e2e",
            "-rs",
            "tests/e2e/test_xss_browser.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_missing_browser_skips_with_how_to_install_it():
    result = _run_a_browser_test(ci=False)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "skipped" in result.stdout and "apt-get install -y chromium" in result.stdout


def test_a_missing_browser_fails_in_ci():
    result = _run_a_browser_test(ci=True)
    assert result.returncode != 0
    assert "apt-get install -y chromium" in result.stdout and "skipped" not in result.stdout
