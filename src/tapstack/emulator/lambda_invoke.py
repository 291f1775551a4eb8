"""Lambda Invoke in the emulator: the deployed function's own code answers, in this process, for any client.

moto runs a function's code only in Docker, which the emulator does not use: ``aws lambda invoke``, boto3 and
``tapstack release`` pointed at a kept emulator got ``error running docker`` back, and Secrets Manager's
rotation steps failed the same way. AWS runs the function's handler. Here moto's ``LambdaFunction.invoke`` is
replaced, for the accounts of the emulators this process serves, by an in-process run of the handler, as
Lambda's Python runtime runs it (Lambda developer guide, "Define Lambda function handler in Python" and
"Lambda function timeout"; API reference, "Invoke"):

- the handler named by the function's ``Handler`` setting, from the code it was deployed with: TapStack's
  functions ship their package at the archive's root (``handler/``, ``rotation/``), the same files as the
  installed ``tapstack.handler`` and ``tapstack.rotation``, which run here. A function whose archive holds
  other code, or whose handler is not one of those, is refused as a function error, never run in Docker;
- its deployed environment variables, ``AWS_REGION``, ``AWS_LAMBDA_FUNCTION_NAME``, and the credentials of
  its execution role (assumed in the emulator, session name = function name, as Lambda does), every AWS
  client pointed at the emulator and nowhere else;
- the payload as the event, and a context whose remaining time counts down the function's timeout;
- a handler that raises answers ``FunctionError: Unhandled`` with ``{"errorMessage", "errorType",
  "stackTrace"}``; one still running at its timeout answers ``Task timed out after N.00 seconds``;
- its stdout lines go to its log group (``/aws/lambda/<name>``), the last 4 KB also to ``LogType=Tail``;
- ``InvocationType=Event`` runs it in the background and answers at once; ``DryRun`` runs nothing.

One handler runs at a time: the function's configuration is the process environment while it runs (the
handler's own code reads it from there), so invocations queue on one lock. A handler past its timeout is
answered for, but Python cannot stop a thread: it keeps the lock until it returns (TapStack's handlers bound
every AWS call, so it does), and only then is the environment restored.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import io
import json
import os
import sys
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from .patches import mark


class Emulator(Protocol):
    """What an invocation needs of the emulator serving it (``server.Emulator``, which imports this module)."""

    url: str
    account_id: str | None

    def client(self, service: str, region: str, config: Any | None = None) -> Any: ...

    def environment(self) -> dict[str, str]: ...

    def handler_session(self) -> Any: ...

IN_PROCESS: dict[str, str] = {"handler.app.handler": "tapstack.handler", "rotation.app.handler": "tapstack.rotation"}
"""A function's ``Handler`` (``package.module.function``, the package at its archive's root) -> the installed
package that holds the same files and runs here."""
TAIL_BYTES = 4096
"""What ``LogType=Tail`` returns: the last 4 KB of the invocation's log (Invoke API reference)."""
CREDENTIAL_SECONDS = 3600
REFRESH_SECONDS = 3000
"""Lambda hands a function its role's session until shortly before it expires; so does the emulator."""
ENVIRONMENT_SET_ASIDE = (
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",  # would make boto3 ignore AWS_ENDPOINT_URL, i.e. call real AWS
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_DATA_PATH",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)
"""Variables unset while a handler runs in-process, besides every ``AWS_ENDPOINT_URL_<SERVICE>``."""

RUN_LOCK = threading.Lock()
"""One handler at a time: it reads its configuration from the process environment and logs to stdout."""
_lock = threading.Lock()
_emulators: dict[str, Emulator] = {}
"""The emulator serving each account whose functions run in-process."""
_credentials: dict[tuple[str, str, str], tuple[float, dict[str, str]]] = {}
"""(emulator, role, function) -> when the role's session was made, and its credentials."""
_code_checked: dict[tuple[str, str], str | None] = {}
_installed = False


@dataclass(frozen=True)
class Function:
    """A deployed function as Lambda runs it: what its configuration and archive say."""

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


# -- the process environment of a handler ------------------------------------------------------------------


@contextmanager
def environment(variables: Mapping[str, str | None]) -> Iterator[None]:
    """``os.environ`` with ``variables`` set (None: unset) for the time of the block."""
    saved = {k: os.environ.get(k) for k in variables}
    try:
        for key, value in variables.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def handler_environment(
    emulator: Emulator, function: Function, credentials: Mapping[str, str] | None = None
) -> dict[str, str | None]:
    """The process environment of an in-process invocation (None: unset): the function's, the emulator only,
    acting as ``credentials`` (an assumed role's) or else with the emulator's own keys."""
    set_aside = [*ENVIRONMENT_SET_ASIDE, *(k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_"))]
    identity = {"AWS_SESSION_TOKEN": ""}
    if credentials is not None:
        identity = {
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
        }
    return {
        **dict.fromkeys(set_aside),
        **function.environment,
        **emulator.environment(),
        **identity,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "NO_PROXY": "*",
        "no_proxy": "*",
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(function.timeout)),
    }


@contextmanager
def default_session(session: Any) -> Iterator[None]:
    import boto3

    saved, boto3.DEFAULT_SESSION = boto3.DEFAULT_SESSION, session
    try:
        yield
    finally:
        boto3.DEFAULT_SESSION = saved


class _ThreadStdout(io.TextIOBase):
    """``sys.stdout`` while a handler runs: the handler thread's lines go to its log, every other thread's to
    the real stdout (a progress display drawn meanwhile must not land in the function's log group)."""

    def __init__(self, real: TextIO, thread: int, log: io.StringIO) -> None:
        self._real, self._thread, self._log = real, thread, log

    def write(self, text: str) -> int:
        target = self._log if threading.get_ident() == self._thread else self._real
        return target.write(text)

    def flush(self) -> None:
        if threading.get_ident() != self._thread:
            self._real.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@contextmanager
def captured_stdout() -> Iterator[io.StringIO]:
    """This thread's stdout, captured for the time of the block."""
    log = io.StringIO()
    real = sys.stdout
    sys.stdout = _ThreadStdout(real, threading.get_ident(), log)
    try:
        yield log
    finally:
        sys.stdout = real


# -- running a handler ---------------------------------------------------------------------------------


def _error_document(err: BaseException) -> dict[str, Any]:
    """What Lambda's Python runtime returns for an exception the handler did not catch."""
    return {
        "errorMessage": str(err),
        "errorType": type(err).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(err.__traceback__),
    }


def _entry(function: Function) -> Callable[[Any, Any], Any]:
    """The handler to run, or RuntimeError saying why this one cannot run here (never Docker)."""
    installed = IN_PROCESS.get(function.handler)
    if installed is None:
        raise RuntimeError(
            f"the emulator runs TapStack's own functions in-process ({', '.join(sorted(IN_PROCESS))}); "
            f"{function.name}'s handler {function.handler!r} is not one of them"
        )
    problem = code_problem(function, installed)
    if problem is not None:
        raise RuntimeError(problem)
    _, module, name = function.handler.split(".")
    entry: Callable[[Any, Any], Any] = getattr(importlib.import_module(f"{installed}.{module}"), name)
    return entry


def code_problem(function: Function, installed: str) -> str | None:
    """Why the deployed archive's package is not the ``installed`` one (checked once per code digest), or None.
    A function without an archive (``code`` empty: run by the CLI from its configuration) runs as is."""
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


def execute(
    emulator: Emulator,
    function: Function,
    event: Any,
    entry: Callable[[Any, Any], Any] | None = None,
    credentials: Mapping[str, str] | None = None,
) -> Outcome:
    """Run the function's handler on ``event`` in a thread of its own, bounded by the function's timeout."""
    request_id = str(uuid.uuid4())
    started = threading.Event()
    done = threading.Event()
    result: dict[str, Any] = {}
    logs: list[str] = []

    def work() -> None:
        with RUN_LOCK:
            deadline = time.monotonic() + function.timeout
            result["deadline"] = deadline
            started.set()
            try:
                handler = entry if entry is not None else _entry(function)
                variables = handler_environment(emulator, function, credentials)
                with environment(variables), default_session(emulator.handler_session()), captured_stdout() as out:
                    try:
                        result["value"] = handler(event, LambdaContext(function, request_id, deadline))
                    finally:
                        logs.extend(out.getvalue().splitlines())
            except Exception as err:  # Lambda reports whatever the handler raised
                result["error"] = _error_document(err)
                logs.append(json.dumps(result["error"]))
            finally:
                done.set()

    thread = threading.Thread(target=work, name=f"lambda-{function.name}", daemon=True)
    thread.start()
    started.wait()
    if not done.wait(max(0.0, result["deadline"] - time.monotonic())):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        message = f"{stamp} {request_id} Task timed out after {function.timeout:.2f} seconds"
        return Outcome(json.dumps({"errorMessage": message}).encode(), True, [*logs, message])
    if "error" in result:
        document = {**result["error"], "requestId": request_id}
        return Outcome(json.dumps(document).encode(), True, logs)
    return Outcome(json.dumps(result.get("value"), default=str).encode(), False, logs)


# -- the Lambda API: moto's invoke, answered here ------------------------------------------------------------


def role_credentials(emulator: Emulator, function: Function) -> dict[str, str] | None:
    """The execution role's session (cached until shortly before it expires), or None without a role."""
    if not function.role:
        return None
    key = (emulator.url, function.role, function.name)
    with _lock:
        found = _credentials.get(key)
        if found is not None and time.monotonic() - found[0] < REFRESH_SECONDS:
            return found[1]
    sts = emulator.client("sts", function.region)
    answer = sts.assume_role(
        RoleArn=function.role, RoleSessionName=function.name[:64], DurationSeconds=CREDENTIAL_SECONDS
    )["Credentials"]
    credentials = {k: str(answer[k]) for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}
    with _lock:
        _credentials[key] = (time.monotonic(), credentials)
    return credentials


def invoke(emulator: Emulator, function: Function, event: Any) -> Outcome:
    """One invocation as Lambda makes it: the role's credentials, the handler, the log delivered."""
    try:
        credentials = role_credentials(emulator, function)
    except Exception as err:  # Lambda cannot run a function whose role it cannot assume
        document = _error_document(err)
        return Outcome(json.dumps(document).encode(), True, [json.dumps(document)])
    outcome = execute(emulator, function, event, credentials=credentials)
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
    """The emulator of ``account_id`` stopped: forget it (and its cached role sessions)."""
    with _lock:
        emulator = _emulators.pop(account_id or "", None)
        if emulator is not None:
            for key in [k for k in _credentials if k[0] == emulator.url]:
                del _credentials[key]
