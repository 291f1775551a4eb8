"""What one invocation of a TapStack function runs with, handed to it explicitly (shipped in each Lambda archive).

Each function module has two entries. ``handler(event, context)`` is what Lambda calls: it runs with this process
(``Runtime.of_process()``: the environment Lambda set, boto3's default session, stdout, which Lambda sends to the
function's log group). ``handle(event, context, runtime)`` runs with what it is given, and is what the emulator
calls to run a deployed function in-process: the function's deployed environment, a session acting as its
execution role, and a sink for its log lines. Nothing process-wide (``os.environ``, ``boto3.DEFAULT_SESSION``,
``sys.stdout``) changes for an invocation, so functions of different regions and roles run side by side.

Standard library only, so that the archive carries it beside the function's package: boto3 is imported when a
process runtime is built, from the Lambda runtime or the archive.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

ENTRY = "handle"
"""The explicit entry every TapStack function module defines beside its Lambda ``handler``."""


class Session(Protocol):
    """What a function asks of its session: boto3's ``Session.client`` (the emulator's role sessions offer the same)."""

    def client(self, service_name: str, region_name: str | None = None, *, config: Any = None) -> Any: ...


@dataclass(frozen=True, eq=False)
class Runtime:
    """One invocation's surroundings. Compared by identity: clients are cached per session, not per value."""

    environment: Mapping[str, str]
    """The function's configuration: its deployed variables and what Lambda adds (``AWS_REGION``, ...)."""
    session: Session
    """Where its AWS clients come from, acting as its execution role."""
    log: Callable[[str], None]
    """Receives each log line (without its newline)."""

    @classmethod
    def of_process(cls) -> Runtime:
        """This process as Lambda sets it up: ``os.environ``, boto3's default session (made once, so a warm
        invocation reuses the clients of the ones before), one line per stdout write."""
        import boto3

        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        return cls(os.environ, boto3.DEFAULT_SESSION, _stdout_line)


def _stdout_line(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
