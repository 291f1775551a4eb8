"""The errors that end a request early with a status code (the reply itself: ``tapstack.contract.Reply``)."""

from __future__ import annotations

from typing import Any

from tapstack.contract import Reply


class HandlerError(Exception):
    """Raised by any layer to end the request with this status; raised before a write, nothing is written."""

    status = 500
    outcome = "error"

    def __init__(self, message: str, *, field: str | None = None, result: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.result = result or {}

    def reply(self) -> Reply:
        return Reply(self.status, self.outcome, self.message, self.result, self.field)


class BadRequest(HandlerError):
    """The caller's mistake: the message names the field so it can be fixed without reading logs."""

    status = 400
    outcome = "invalid"


class NotFound(HandlerError):
    """The request named a migration or manifest that is not in the deployment bucket."""

    status = 404
    outcome = "not_found"


class Conflict(HandlerError):
    """The request is well-formed but the bucket's state forbids it now (lock held, id spent, not current)."""

    status = 409
    outcome = "conflict"


class ServerError(HandlerError):
    """The function or its environment is at fault, not the caller: retrying the same request may succeed."""

    status = 500
    outcome = "error"
