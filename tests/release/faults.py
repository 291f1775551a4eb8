"""Fault injection through botocore's event system: every AWS call the release's clients make is a failure point.

``Faults`` hooks the session the release's ``AwsTarget`` is made from. It records each call as a ``Point``
(service, operation, region and how many times that same call came before), so a clean run lists the points
and a later run can fail exactly one of them, whatever calls were added to the code since:

- ``throttle`` and ``500`` answer the call with that error, as botocore raises it once its retries are spent
  (the error reaches the caller; a ``before-call`` answer skips the retry handler);
- ``connection`` raises ``EndpointConnectionError`` before the request leaves;
- ``lost`` lets the call land and then raises ``ReadTimeoutError``: the effect happened, the answer did not
  arrive (the case that makes a client's view of a migrate untrustworthy);
- ``SIGINT`` / ``SIGTERM`` / ``SIGHUP`` send the real signal to this process while the call is made.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.exceptions
from botocore.awsrequest import AWSResponse

KINDS = ("throttle", "500", "connection", "lost")
KILL = "kill"
"""The process dies at this call: ``Killed`` unwinds past every ``except Exception`` and nothing after runs."""


class Killed(BaseException):
    """A simulated SIGKILL: what was written before stays, nothing else runs (no cleanup handler catches it)."""


SIGNALS = ("SIGINT", "SIGTERM")


@dataclass(frozen=True)
class Point:
    service: str
    operation: str
    region: str
    occurrence: int
    """How many calls with the same service, operation and region came before this one in the run."""

    def __str__(self) -> str:
        return f"{self.service}.{self.operation}@{self.region}#{self.occurrence}"


class _Body:
    def __init__(self) -> None:
        self.closed = False

    def stream(self, **_: Any) -> Any:
        yield b""

    def read(self, *_: Any) -> bytes:
        return b""


_ERRORS = {
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
    "500": (500, "InternalError", "We encountered an internal error. Please try again."),
}


class Faults:
    """Counts the calls of the clients made from ``session`` and fails the one ``arm`` chose, once."""

    def __init__(self, *sessions: Any) -> None:
        """``sessions``: boto3 sessions or clients (a client's own events: ``client.meta.events``)."""
        self.calls: list[Point] = []
        self.choose: Callable[[Point], bool] = lambda _: False
        self.target: Point | None = None
        self.kind = ""
        self.hit = False
        self._seen: Counter[tuple[str, str, str]] = Counter()
        self._lock = threading.Lock()
        for session in sessions:
            events = session.events if hasattr(session, "events") else session.meta.events
            events.register_first("before-call", self._before)
            events.register_last("after-call", self._after)

    def arm(self, point: Point | None, kind: str = "") -> None:
        """Fail ``point`` with ``kind`` in the next run (None: record only); the call count starts again."""
        self.arm_when(lambda p: p == point, kind)

    def arm_when(self, choose: Callable[[Point], bool], kind: str) -> None:
        """Fail the first call ``choose`` picks (it may look at the world: "once us-east-1 is on 2.0.0")."""
        self.calls, self._seen = [], Counter()
        self.choose, self.target, self.kind, self.hit = choose, None, kind, False

    def _point(self, model: Any, context: dict[str, Any]) -> Point:
        name = (model.service_model.service_name, model.name, str(context.get("client_region")))
        with self._lock:
            point = Point(*name, self._seen[name])
            self._seen[name] += 1
            self.calls.append(point)
        return point

    def _before(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        point = self._point(model, context)
        context["tapstack_point"] = point
        if self.hit or self.target is not None or not self.choose(point):
            return None
        self.target = point
        if self.kind == "lost":
            return None
        self.hit = True
        if self.kind in _ERRORS:
            status, code, message = _ERRORS[self.kind]
            http = AWSResponse("https://fault.invalid/", status, {}, _Body())
            return http, {
                "Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": status, "RetryAttempts": 4},
            }
        if self.kind == "connection":
            raise botocore.exceptions.EndpointConnectionError(endpoint_url=f"https://{point.service}.fault.invalid/")
        if self.kind == KILL:
            raise Killed(str(point))
        os.kill(os.getpid(), getattr(signal, self.kind))
        return None

    def _after(self, context: dict[str, Any], **_: Any) -> None:
        if self.kind == "lost" and not self.hit and context.get("tapstack_point") == self.target:
            self.hit = True
            raise botocore.exceptions.ReadTimeoutError(endpoint_url="https://fault.invalid/")
