"""Account quotas the emulator enforces where moto does not: Lambda's concurrency.

Lambda takes every function's reserved concurrency from the account's concurrency quota, and refuses a
reservation that would leave fewer than 100 concurrent executions unreserved (Lambda Developer Guide,
"Configuring reserved concurrency": "as long as you leave at least 100 simultaneous executions unreserved"). An
account whose quota is 10, as new accounts often have, can therefore reserve nothing: the deploy fails with
``InvalidParameterValueException``. moto checks this only when the process-wide ``MOTO_LAMBDA_CONCURRENCY_QUOTA``
is set; here each emulated account has its own quota, ``DEFAULT_CONCURRENCY_QUOTA`` unless a test or
``Emulator.start(concurrency_quota=...)`` sets another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .patches import wrap

DEFAULT_CONCURRENCY_QUOTA = 10
"""A new account's concurrent executions quota: the value a first deploy most often meets."""
UNRESERVED_MINIMUM = 100
_quotas: dict[str, int] = {}
_installed = False


def set_concurrency_quota(account_id: str, quota: int) -> None:
    """The account's Lambda concurrency quota (``AccountLimit.ConcurrentExecutions``)."""
    if quota < 1:
        raise ValueError(f"concurrency quota {quota!r}: expected at least 1")
    _quotas[account_id] = quota


def concurrency_quota(account_id: str) -> int:
    return _quotas.get(account_id, DEFAULT_CONCURRENCY_QUOTA)


def _within_quota(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_function_concurrency(backend: Any, function_name: str, reserved_concurrency: str) -> Any:
        from moto.awslambda.exceptions import InvalidParameterValueException

        quota = concurrency_quota(str(backend.account_id))
        target = backend.get_function(function_name)
        others = sum(
            int(fn.reserved_concurrency)
            for fn in backend.list_functions()
            if fn.reserved_concurrency and fn.function_arn != target.function_arn
        )
        if quota - others - int(reserved_concurrency) < UNRESERVED_MINIMUM:
            raise InvalidParameterValueException(
                "Specified ReservedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{UNRESERVED_MINIMUM}]."
            )
        return original(backend, function_name, reserved_concurrency)

    return put_function_concurrency


def install() -> None:
    """Enforce the quotas in this process (once)."""
    global _installed
    if _installed:
        return
    from moto.awslambda.models import LambdaBackend

    wrap(LambdaBackend, "put_function_concurrency", _within_quota)
    _installed = True
