"""Secrets Manager rotation in the emulator: moto invokes the rotation function, TapStack's code answers.

``RotateSecret`` makes moto invoke the rotation function once per step (create, set, test, finish), and moto
runs Lambda code only in Docker, which the emulator does not use: the steps would fail silently and leave an
empty ``AWSPENDING`` version behind. AWS runs the function's own code. Here an invocation of a function whose
handler is TapStack's rotation function (``rotation.app.handler``) runs ``tapstack.rotation.app.rotate``
in-process against the emulator, as the migration handler's ``validate`` runs in-process after a deploy; other
functions keep moto's behaviour. A failed step is reported the way Lambda reports an unhandled error.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from .adapters.base import ClientFactory
from .patches import mark

ROTATION_HANDLER = "rotation.app.handler"
_lock = threading.Lock()
_clients: dict[str, ClientFactory] = {}
"""The client factory of the emulator serving each account, registered before a rotation is configured."""
_installed = False


def install(account_id: str, clients: ClientFactory) -> None:
    """Route moto's invocations of TapStack's rotation function to the in-process code (idempotent)."""
    global _installed
    with _lock:
        _clients[account_id] = clients
        if _installed:
            return
        from moto.awslambda.models import LambdaFunction

        original = LambdaFunction.invoke

        def invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> str | bytes:
            factory = _clients.get(self.account_id)
            if self.handler != ROTATION_HANDLER or factory is None:
                return original(self, body, request_headers, response_headers)
            return run(factory, self.region, self.function_name, json.loads(body or "{}"), response_headers)

        setattr(LambdaFunction, "invoke", mark(invoke, original))  # noqa: B010 (mypy refuses assigning to a method)
        _installed = True


def run(
    clients: ClientFactory, region: str, function_name: str, event: dict[str, Any], response_headers: dict[str, Any]
) -> str:
    """One rotation step, answered like Lambda answers an invocation (``null``, or the error it raised); its log
    lines go to the function's log group, as Lambda sends them."""
    from ..rotation.app import rotate

    lines: list[str] = []
    try:
        rotate(event, clients("secretsmanager", region), log=lines.append)
        reply = "null"
    except Exception as err:  # Lambda reports any error the function raises
        response_headers["x-amz-function-error"] = "Unhandled"
        reply = json.dumps({"errorType": type(err).__name__, "errorMessage": str(err)})
        lines.append(reply)
    _deliver(clients("logs", region), f"/aws/lambda/{function_name}", lines)
    return reply


def _deliver(logs: Any, group: str, lines: list[str]) -> None:
    stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    except logs.exceptions.ResourceNotFoundException:
        return  # no log group: Lambda drops the lines too when it cannot create the group
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now, "message": m} for m in lines]
    )
