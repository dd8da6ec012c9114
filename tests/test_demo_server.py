"""The README's first command really serves: `labeler demo` answers on its port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_labeler_demo_creates_the_instance_and_serves(tmp_path):
    port = _free_port()
    env = {**os.environ, "LABELER_INSTANCE_PATH": str(tmp_path)}
    env.pop("LABELER_SECRET_KEY", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from labeler.cli.main import main; main()",
            "demo",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                    assert r.status == 200 and "Log in" in r.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("labeler demo did not answer within 90 s")
        assert "SECRET_KEY" in (tmp_path / "config.py").read_text()
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()
