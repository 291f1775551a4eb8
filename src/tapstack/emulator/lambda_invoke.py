"""Lambda Invoke in the emulator: the deployed function's own code answers, in this process, for any client.

moto runs a function's code only in Docker, which the emulator does not use: ``aws lambda invoke``, boto3 and
``tapstack release`` pointed at a kept emulator got ``error running docker`` back, and Secrets Manager's
rotation steps failed the same way. AWS runs the function's handler. Here moto's ``LambdaFunction.invoke`` is
replaced, for the accounts of the emulators this process serves, by an in-process run of the handler, as
Lambda's Python runtime runs it (Lambda developer guide, "Define Lambda function handler in Python" and
"Lambda function timeout"; API reference, "Invoke"):

- the function named by the function's ``Handler`` setting, from the code it was deployed with: TapStack's
  functions ship their package at the archive's root (``handler/``, ``rotation/``), the same files as the
  installed ``tapstack.handler`` and ``tapstack.rotation``, which run here through their explicit entry
  ``handle(event, context, runtime)`` (``tapstack.runtime``). A function whose archive holds other code, whose
  handler is not one of those, or whose module has no explicit entry, is refused as a function error, never run
  in Docker;
- a runtime built from its deployed configuration: its environment variables plus ``AWS_REGION``,
  ``AWS_LAMBDA_FUNCTION_NAME`` and the rest Lambda sets; a session acting as its execution role (assumed in the
  emulator, session name = function name, as Lambda does) whose clients reach the emulator and nothing else,
  whatever the process environment or the user's AWS files say; a log of its own;
- the payload as the event, and a context whose remaining time counts down the function's timeout;
- a handler that raises answers ``FunctionError: Unhandled`` with ``{"errorMessage", "errorType",
  "stackTrace"}``; one still running at its timeout answers ``Task timed out after N.00 seconds``;
- its log lines go to its log group (``/aws/lambda/<name>``), the last 4 KB also to ``LogType=Tail``;
- ``InvocationType=Event`` runs it in the background and answers at once; ``DryRun`` runs nothing.

Nothing process-wide changes for an invocation (``os.environ``, ``boto3.DEFAULT_SESSION`` and ``sys.stdout``
stay as they are), so invocations of different functions run side by side, each in a thread of its own. A
handler past its timeout is answered for, but Python cannot stop a thread: it runs on to its end (TapStack's
handlers bound every AWS call, so it does), where Lambda would have ended its execution environment.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import io
import json
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

from ..runtime import ENTRY, Runtime, Session
from . import sessions
from .patches import mark


class Emulator(Protocol):
    """What an invocation needs of the emulator serving it (``server.Emulator``, which imports this module)."""

    url: str
    ca_bundle: Path | None
    account_id: str | None

    def client(self, service: str, region: str, config: Any | None = None) -> Any: ...


IN_PROCESS: dict[str, str] = {"handler.app.handler": "tapstack.handler", "rotation.app.handler": "tapstack.rotation"}
"""A function's ``Handler`` (``package.module.function``, the package at its archive's root) -> the installed
package that holds the same files and runs here, through the module's explicit entry (``runtime.ENTRY``)."""
TAIL_BYTES = 4096
"""What ``LogType=Tail`` returns: the last 4 KB of the invocation's log (Invoke API reference)."""
CREDENTIAL_SECONDS = 3600
REFRESH_SECONDS = 3000
"""Lambda hands a function its role's session until shortly before it expires; so does the emulator."""

_lock = threading.Lock()
_emulators: dict[str, Emulator] = {}
"""The emulator serving each account whose functions run in-process."""
_sessions: dict[tuple[str, str, str], tuple[float, RoleSession]] = {}
"""(emulator, role, function) -> when the role's session was made, and the session (its clients are reused)."""
_code_checked: dict[tuple[str, str], str | None] = {}
_installed = False


@dataclass(frozen=True)
class Function:
    """A deployed function as Lambda runs it: what its configuration (and, for an Invoke, its archive) says."""

    name: str
    arn: str
    region: str
    handler: str
    environment: Mapping[str, str]
    role: str | None = None
    """The execution role whose credentials the handler gets; None runs it with the emulator's own keys."""
    timeout: float = 60.0
    code_sha256: str = ""
    code: bytes = field(default=b"", repr=False)
    """The archive; empty when read through the API (``configured``), which runs the code as installed."""

    @classmethod
    def configured(cls, configuration: Mapping[str, Any]) -> Function:
        """The function from GetFunction's ``Configuration``: its environment is what the handler sees in AWS."""
        arn = str(configuration["FunctionArn"])
        return cls(
            name=str(configuration["FunctionName"]),
            arn=arn,
            region=arn.split(":")[3],
            handler=str(configuration.get("Handler") or ""),
            environment=dict((configuration.get("Environment") or {}).get("Variables") or {}),
            role=configuration.get("Role") or None,
            timeout=float(configuration.get("Timeout") or 3),
            code_sha256=str(configuration.get("CodeSha256") or ""),
        )

    def environment_variables(self) -> dict[str, str]:
        """What the function's code finds in its environment: its own variables, then what Lambda sets."""
        return {
            **self.environment,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(self.timeout)),
        }


@dataclass(frozen=True)
class Outcome:
    """What Lambda answers: the payload, whether it is an error document (``FunctionError: Unhandled``), logs."""

    payload: bytes
    error: bool
    logs: list[str]

    def tail(self) -> str:
        """``x-amz-log-result``: the last 4 KB of the log, base64."""
        text = "".join(f"{line}\n" for line in self.logs).encode()
        return base64.b64encode(text[-TAIL_BYTES:]).decode()


class LambdaContext:
    """The context object a Python handler receives; its remaining time counts down the function's timeout."""

    def __init__(self, function: Function, request_id: str, deadline: float) -> None:
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.arn
        self.memory_limit_in_mb = 256
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = ""
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class RoleSession:
    """A function's session in the emulator (``runtime.Session``): clients of the emulator only, acting as the
    execution role's assumed session (or, without ``credentials``, with the emulator's own keys).

    Its clients come from the emulator's sealed session (``sessions.client``), which reads no ``AWS_*``
    variable, no config or credentials file and no proxy setting: nothing in this process can send the
    function's calls elsewhere, and its loaded service models are shared, so a client costs ~12 ms.
    """

    def __init__(self, emulator: Emulator, region: str, credentials: Mapping[str, str] | None) -> None:
        self._emulator, self._region, self._credentials = emulator, region, credentials

    def client(self, service_name: str, region_name: str | None = None, *, config: Any = None) -> Any:
        return sessions.client(
            service_name,
            region_name or self._region,
            self._emulator.url,
            self._emulator.ca_bundle,
            config,
            self._credentials,
        )


# -- running a handler ---------------------------------------------------------------------------------

Entry = Callable[[Any, Any, Runtime], Any]


def _error_document(err: BaseException) -> dict[str, Any]:
    """What Lambda's Python runtime returns for an exception the handler did not catch."""
    return {
        "errorMessage": str(err),
        "errorType": type(err).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(err.__traceback__),
    }


def _entry(function: Function) -> Entry:
    """The module's explicit entry, or RuntimeError saying why this function cannot run here (never Docker)."""
    installed = IN_PROCESS.get(function.handler)
    if installed is None:
        raise RuntimeError(
            f"the emulator runs TapStack's own functions in-process ({', '.join(sorted(IN_PROCESS))}); "
            f"{function.name}'s handler {function.handler!r} is not one of them"
        )
    problem = code_problem(function, installed)
    if problem is not None:
        raise RuntimeError(problem)
    module = f"{installed}.{function.handler.split('.')[1]}"
    entry = getattr(importlib.import_module(module), ENTRY, None)
    if not callable(entry):
        raise RuntimeError(
            f"{function.name}: {module} has no explicit entry {ENTRY}(event, context, runtime); the emulator runs "
            "a function only through it, never by changing this process's environment for its Lambda handler"
        )
    return cast(Entry, entry)


def code_problem(function: Function, installed: str) -> str | None:
    """Why the deployed archive's package is not the ``installed`` one (checked once per code digest), or None.
    A function without an archive (``code`` empty: read through the API) runs as installed."""
    if not function.code:
        return None
    package = function.handler.split(".")[0]
    key = (function.code_sha256, installed)
    if key not in _code_checked:
        directory = Path(importlib.import_module(installed).__file__ or "").parent
        try:
            with zipfile.ZipFile(io.BytesIO(function.code)) as archive:
                shipped = {n: archive.read(n) for n in archive.namelist() if n.startswith(f"{package}/")}
        except zipfile.BadZipFile:
            shipped = {}
        own = {f"{package}/{p.name}": p.read_bytes() for p in directory.glob("*.py")}
        problem = None
        if not shipped:
            problem = f"{function.name}: its archive has no {package}/ package for handler {function.handler!r}"
        elif {n: b for n, b in shipped.items() if n.endswith(".py")} != own:
            problem = (
                f"{function.name}: its archive's {package}/ is not the installed {installed} "
                "(the emulator runs TapStack's own code only; redeploy with this TapStack)"
            )
        _code_checked[key] = problem
    return _code_checked[key]


def execute(function: Function, event: Any, session: Session) -> Outcome:
    """Run the function's explicit entry on ``event`` with a runtime of its own (its configuration, ``session``,
    a log), in a thread of its own, bounded by the function's timeout."""
    request_id = str(uuid.uuid4())
    deadline = time.monotonic() + function.timeout
    done = threading.Event()
    result: dict[str, Any] = {}
    logs: list[str] = []

    def work() -> None:
        try:
            entry = _entry(function)
            runtime = Runtime(function.environment_variables(), session, logs.append)
            result["value"] = entry(event, LambdaContext(function, request_id, deadline), runtime)
        except Exception as err:  # Lambda reports whatever the handler raised
            result["error"] = _error_document(err)
            logs.append(json.dumps(result["error"]))
        finally:
            done.set()

    threading.Thread(target=work, name=f"lambda-{function.name}", daemon=True).start()
    if not done.wait(max(0.0, deadline - time.monotonic())):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        message = f"{stamp} {request_id} Task timed out after {function.timeout:.2f} seconds"
        return Outcome(json.dumps({"errorMessage": message}).encode(), True, [*logs, message])
    if "error" in result:
        document = {**result["error"], "requestId": request_id}
        return Outcome(json.dumps(document).encode(), True, logs)
    return Outcome(json.dumps(result.get("value"), default=str).encode(), False, logs)


# -- the Lambda API: moto's invoke, answered here ------------------------------------------------------------


def role_session(emulator: Emulator, function: Function) -> RoleSession:
    """The execution role's session (cached until shortly before it expires, so a warm invocation reuses its
    clients), or the emulator's own keys without a role."""
    key = (emulator.url, function.role or "", function.name)
    with _lock:
        found = _sessions.get(key)
        if found is not None and time.monotonic() - found[0] < REFRESH_SECONDS:
            return found[1]
    credentials = None
    if function.role:
        sts = emulator.client("sts", function.region)
        answer = sts.assume_role(
            RoleArn=function.role, RoleSessionName=function.name[:64], DurationSeconds=CREDENTIAL_SECONDS
        )["Credentials"]
        credentials = {k: str(answer[k]) for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}
    session = RoleSession(emulator, function.region, credentials)
    with _lock:
        _sessions[key] = (time.monotonic(), session)
    return session


def invoke(emulator: Emulator, function: Function, event: Any) -> Outcome:
    """One invocation as Lambda makes it: the role's credentials, the handler, the log delivered."""
    try:
        session = role_session(emulator, function)
    except Exception as err:  # Lambda cannot run a function whose role it cannot assume
        document = _error_document(err)
        return Outcome(json.dumps(document).encode(), True, [json.dumps(document)])
    outcome = execute(function, event, session)
    with contextlib.suppress(Exception):  # as in Lambda, lost log lines never fail the invocation they describe
        deliver(emulator, function, outcome.logs)
    return outcome


def deliver(emulator: Emulator, function: Function, lines: list[str]) -> None:
    """The invocation's log lines to the function's log group, one stream per invocation."""
    if not lines:
        return
    logs = emulator.client("logs", function.region)
    group = f"/aws/lambda/{function.name}"
    stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    except logs.exceptions.ResourceNotFoundException:
        return  # no log group: Lambda drops the lines too when it may not create the group
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now, "message": m} for m in lines]
    )


def _of_moto(fn: Any) -> Function:
    return Function(
        name=str(fn.function_name),
        arn=str(fn.function_arn),
        region=str(fn.region),
        handler=str(fn.handler),
        environment=dict(fn.environment_vars or {}),
        role=str(fn.role) if fn.role else None,
        timeout=float(fn.timeout or 3),
        code_sha256=str(getattr(fn, "code_sha_256", "") or ""),
        code=bytes(getattr(fn, "code_bytes", b"") or b""),
    )


def install(emulator: Emulator) -> None:
    """Answer Lambda Invoke for the emulator's account in-process (idempotent; other accounts keep moto's)."""
    global _installed
    if emulator.account_id is None:
        return
    with _lock:
        _emulators[emulator.account_id] = emulator
        if _installed:
            return
        from moto.awslambda.models import LambdaFunction

        original = LambdaFunction.invoke

        def answer(self: Any, body: str, request_headers: Any, response_headers: Any) -> str | bytes:
            served = _emulators.get(self.account_id)
            if served is None:
                return original(self, body, request_headers, response_headers)
            kind = request_headers.get("x-amz-invocation-type", "RequestResponse")
            if kind == "DryRun":
                return b""
            try:
                event = json.loads(body or "{}")
            except ValueError as err:  # Lambda refuses a payload that is not JSON, running nothing (HTTP 400)
                from moto.awslambda.exceptions import LambdaClientError

                raise LambdaClientError(
                    "InvalidRequestContentException", f"Could not parse request body: {err}"
                ) from None
            function = _of_moto(self)
            if kind == "Event":
                threading.Thread(target=invoke, args=(served, function, event), daemon=True).start()
                return b""
            outcome = invoke(served, function, event)
            if outcome.error:
                response_headers["x-amz-function-error"] = "Unhandled"
            response_headers["x-amz-log-result"] = outcome.tail()
            return outcome.payload

        setattr(LambdaFunction, "invoke", mark(answer, original))  # noqa: B010 (mypy refuses assigning to a method)
        _installed = True


def uninstall(account_id: str | None) -> None:
    """The emulator of ``account_id`` stopped: forget it (and its cached role sessions, with their clients)."""
    with _lock:
        emulator = _emulators.pop(account_id or "", None)
        if emulator is not None:
            for key in [k for k in _sessions if k[0] == emulator.url]:
                del _sessions[key]
