"""The function's entries: ``handler.app.handler`` in the function, ``tapstack.handler.app`` in tests.

``handler`` is what Lambda calls; it runs ``handle`` with this process's runtime (``tapstack.runtime``). The
emulator calls ``handle`` with the deployed function's environment, its role's session and a log of its own.

Every invocation ends in the same reply shape and one JSON log line, whatever happened: a caller's mistake is
a 4xx naming the field, the function's own trouble a 5xx, and nothing escapes as an exception.
"""

from __future__ import annotations

import time
import traceback
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tapstack.contract import Reply
from tapstack.runtime import Runtime

from .checks import validate
from .clients import describe
from .events import Migrate, Request, Rollback, Status, Validate, claimed_id, known_action, parse_event
from .logs import log
from .migrate import migrate
from .outcomes import HandlerError
from .rollback import rollback
from .services import Services
from .status import status


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Lambda's entry: this process is the function's runtime."""
    return handle(event, context, Runtime.of_process())


def handle(event: dict[str, Any], context: object, runtime: Runtime) -> dict[str, Any]:
    started = time.perf_counter()
    action, migration_id = known_action(event), claimed_id(event)
    try:
        request = parse_event(event)
        reply = _dispatch(request, Services.for_invocation(context, runtime))
    except HandlerError as exc:
        reply = exc.reply()
    except (ClientError, BotoCoreError) as exc:
        reply = Reply(500, "error", f"an AWS call failed: {describe(exc)}")
    except Exception as exc:  # the caller must still get the documented shape; the traceback goes to the logs
        log(
            runtime.log,
            "error",
            "unexpected_exception",
            action=action,
            migration_id=migration_id,
            traceback=traceback.format_exc(limit=20),
        )
        reply = Reply(500, "error", f"internal error ({type(exc).__name__}); see the function's logs")
    log(
        runtime.log,
        "error" if reply.status >= 500 else "info",
        "invocation",
        action=action,
        migration_id=migration_id,
        outcome=reply.outcome,
        status=reply.status,
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
        message=reply.message,
        request_id=getattr(context, "aws_request_id", None),
    )
    return {
        "statusCode": reply.status,
        "body": {
            "action": action,
            "outcome": reply.outcome,
            "message": reply.message,
            "migration_id": migration_id,
            "field": reply.field,
            "result": reply.result,
        },
    }


def _dispatch(request: Request, svc: Services) -> Reply:
    match request:
        case Validate():
            return validate(svc)
        case Migrate():
            return migrate(svc, request)
        case Rollback():
            return rollback(svc, request)
        case Status():
            return status(svc, request)
