"""Running the application: systemd on an instance, a supervised child process in the emulator.

Both take the same instruction, "run this argv in this release directory with PORT and TAPSTACK_RELEASE",
so the agent's cycle is the same code in both places.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Protocol

UNIT = "tapstack-app.service"
ENV_FILE = Path("/etc/tapstack/app.env")
LAUNCH_FILE = Path("/etc/tapstack/app.json")
STOP_SECONDS = 5.0
# What a systemd unit's process gets too: no variable of the agent's own (credentials least of all).
_BASE_ENVIRONMENT = {key: os.environ[key] for key in ("PATH", "LANG", "SYSTEMROOT") if key in os.environ}


class ServiceError(Exception):
    """The application could not be (re)started; the message says what the service manager answered."""


class Service(Protocol):
    def restart(self, release_dir: Path, start: Sequence[str], environment: Mapping[str, str]) -> None:
        """Stop whatever runs, then run ``start`` with cwd ``release_dir`` and ``environment`` added."""

    def gone(self) -> str | None:
        """Why the application is known not to be running (it exited, the unit failed), else None."""

    def stop(self) -> None:
        """Stop the application; nothing to serve is better than serving what must not be served."""


def _write_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(temporary, mode)
    os.replace(temporary, path)


def _env_value(value: str) -> str:
    """A value for a systemd EnvironmentFile, double-quoted so spaces and quotes survive."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class SystemdService:
    """``tapstack-app.service`` (installed by user data) runs ``launch.py``, which execs the release's argv.

    The argv and the release directory go to ``app.json``, PORT and TAPSTACK_RELEASE to the unit's
    EnvironmentFile; both are written before ``systemctl restart``, so the unit always starts what the agent
    chose. systemd itself restarts a crashed application (``Restart=on-failure``).
    """

    def __init__(self, env_file: Path = ENV_FILE, launch_file: Path = LAUNCH_FILE, unit: str = UNIT) -> None:
        self.env_file, self.launch_file, self.unit = env_file, launch_file, unit

    def _systemctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["systemctl", *args], capture_output=True, text=True, timeout=120, check=False)

    def restart(self, release_dir: Path, start: Sequence[str], environment: Mapping[str, str]) -> None:
        lines = "".join(f"{key}={_env_value(value)}\n" for key, value in sorted(environment.items()))
        _write_atomically(self.env_file, lines)
        _write_atomically(self.launch_file, json.dumps({"start": list(start), "cwd": str(release_dir)}) + "\n")
        done = self._systemctl("restart", self.unit)
        if done.returncode != 0:
            raise ServiceError(f"systemctl restart {self.unit} failed: {(done.stderr or done.stdout).strip()}")

    def gone(self) -> str | None:
        if self._systemctl("is-failed", "--quiet", self.unit).returncode == 0:
            return f"{self.unit} failed (journalctl -u {self.unit})"
        return None

    def stop(self) -> None:
        self._systemctl("stop", self.unit)


class ProcessService:
    """The application as a child process of this one, in its own process group, output to ``log``.

    The emulator's simulated instances use it: the process is real and listens on the loopback port the
    agent hands it in PORT, exactly as the systemd unit's process would.
    """

    def __init__(self, log: Path) -> None:
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    def restart(self, release_dir: Path, start: Sequence[str], environment: Mapping[str, str]) -> None:
        self.stop()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log.open("ab")
        try:
            self.process = subprocess.Popen(
                list(start),
                cwd=release_dir,
                env={**_BASE_ENVIRONMENT, **environment},
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except (OSError, ValueError) as exc:  # ValueError: an argv or environment Popen refuses (a NUL)
            self.stop()
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise ServiceError(f"cannot start {list(start)} in {release_dir}: {reason}") from None

    def gone(self) -> str | None:
        if self.process is None:
            return "the application is not running"
        code = self.process.poll()
        return None if code is None else f"the application exited with code {code}"

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            except ProcessLookupError:
                pass
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
