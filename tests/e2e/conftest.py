"""Browser tests: a real labeler server on a loopback port, driven in Debian's Chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("LABELER_TEST_CHROMIUM", "/usr/bin/chromium")  # Debian's
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, saying how to fix it; None when they can."""
    if Path(CHROMIUM).exists():
        return None
    return (
        f"Chromium is missing ({CHROMIUM}): install it with `apt-get install -y chromium` "
        "(Debian/Ubuntu) to run the browser tests; .ci/run does this"
    )


@pytest.fixture(scope="session")
def browser():
    missing = chromium_missing()
    if missing and os.environ.get("CI"):
        pytest.fail(missing)  # CI installs the browser: its absence is a broken machine
    if missing:
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield page
    context.close()
    assert not errors, f"the page logged errors: {errors}"


def login(page, username: str, password: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")
