"""`tapstack up --local` stopped by SIGTERM (a supervisor, `timeout`, `kill`) cleans up as Ctrl-C does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import EXAMPLES

pytestmark = pytest.mark.integration


def test_sigterm_during_a_local_deploy_removes_the_emulators_key_and_exits_143(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "PYTHONFAULTHANDLER": "1"}
    argv = [sys.executable, "-c", "from tapstack.cli import entry; entry()", "up", "--local", "--json"]
    argv += ["--config", str(EXAMPLES / "foundation" / "Pulumi.dev.yaml"), "--outputs", str(tmp_path / "o.json")]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not any(temp.glob("tapstack-emulator-*/*")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(temp.glob("tapstack-emulator-*/*")), "the emulator never wrote its TLS files"
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:  # say where it hangs: faulthandler prints every thread on SIGABRT
            proc.send_signal(signal.SIGABRT)
            _, stderr = proc.communicate(timeout=10)
            pytest.fail(f"still running 60 s after SIGTERM; its threads:\n{stderr.decode(errors='replace')[-6000:]}")
        assert code == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert list(temp.glob("tapstack-emulator-*/*")) == []
