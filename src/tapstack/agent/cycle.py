"""One convergence pass: follow the pointer if it moved, keep the serving release healthy, report.

Whatever goes wrong, the release that was serving keeps serving (or is returned to), the reason goes into the
heartbeat, and the pass ends normally: the timer's next pass is the retry, so there is no crash loop, and a
refused release is remembered by pointer fingerprint so it is not reinstalled on every pass.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tapstack.contract import Health, Heartbeat, utc_now

from . import health
from .config import AgentConfig
from .errors import Refused
from .heartbeat import HeartbeatUndelivered, write
from .install import current_link, prune, stage, switch, unlink_current
from .pointer import Plan, read_pointer, resolve
from .s3util import describe
from .service import Service, ServiceError
from .state import Failed, Installed, State

log = logging.getLogger("tapstack_agent")
Outcome = tuple[str, str]
"""(health, reason) for the heartbeat."""


def run_once(config: AgentConfig, s3: Any, sts: Any, service: Service) -> Heartbeat:
    """One pass; returns the heartbeat it wrote, or raises HeartbeatUndelivered carrying it."""
    state = State.load(config.root)
    try:
        user_id: str | None = str(sts.get_caller_identity()["UserId"])
        unknown = ""
    except (ClientError, BotoCoreError) as exc:
        user_id, unknown = None, f"sts:GetCallerIdentity failed: {describe(exc)}"
    try:
        status, reason = _converge(config, s3, state, service, user_id.rsplit(":", 1)[-1] if user_id else None)
    except Exception as exc:  # a bug, or an input no check foresaw: the pass must still end with a heartbeat
        log.exception("unexpected error in the agent pass")
        status, reason = _recover(config, state, service, f"unexpected error in this pass ({_describe(exc)})")
    try:
        state.save(config.root)
    except OSError as exc:
        failed = f"cannot save agent state in {config.root}: {exc.strerror or exc}"
        status, reason = Health.UNHEALTHY, _join(reason, failed)
    heartbeat = Heartbeat(
        instance_id=user_id.rsplit(":", 1)[-1] if user_id else "unknown",
        release=state.current.release if state.current else None,
        health=status,
        reason=reason,
        previous_release=state.previous.release if state.previous else None,
        timestamp=utc_now(),
    )
    if user_id is None:
        raise HeartbeatUndelivered(f"no heartbeat key: {unknown}", heartbeat)
    write(s3, config.bucket, user_id, heartbeat)
    return heartbeat


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _recover(config: AgentConfig, state: State, service: Service, failure: str) -> Outcome:
    """After an unexpected error: ``current`` back on the installed release, which keeps serving.

    Nothing is remembered as failed (the error may be passing), so the next pass tries the pointer again.
    """
    current = state.current
    try:
        if current is not None and current_link(config.root).resolve() != Path(current.directory).resolve():
            switch(config.root, Path(current.directory))
        return _serve(config, state, service, failure=f"{failure}; will retry")
    except Exception as exc:
        log.exception("cannot restore the serving release")
        return Health.UNHEALTHY, f"{failure}; will retry; restoring the serving release failed too ({_describe(exc)})"


def _join(first: str, second: str) -> str:
    return f"{first}; {second}" if first else second


def _converge(config: AgentConfig, s3: Any, state: State, service: Service, instance_id: str | None) -> Outcome:
    try:
        pointer = read_pointer(s3, config.bucket, instance_id)
    except Refused as exc:
        return _serve(config, state, service, failure=f"cannot follow the release pointer: {exc.reason}")
    if pointer is None:
        return _serve(config, state, service)
    if state.failed is not None and state.failed.fingerprint == pointer.fingerprint:
        return _serve(config, state, service, failure=state.failed.reason)
    current = state.current
    if current is not None and pointer.fingerprint == state.converged:
        return _serve(config, state, service)
    try:
        plan = resolve(s3, config.bucket, pointer)
    except Refused as exc:
        reason = f"release {pointer.release} refused: {exc.reason}"
        if exc.permanent:
            state.failed = Failed(pointer.fingerprint, pointer.release, reason)
        return _serve(config, state, service, failure=reason)
    if current is not None and plan.digest == current.digest:
        state.converged, state.failed = plan.fingerprint, None
        return _serve(config, state, service)
    return _install(config, s3, state, service, plan)


def _environment(config: AgentConfig, installed: Installed) -> dict[str, str]:
    return {"PORT": str(_port(config, installed)), "TAPSTACK_RELEASE": installed.release}


def _port(config: AgentConfig, installed: Installed) -> int:
    return config.port if config.port is not None else installed.app.health.port


def _start_and_check(config: AgentConfig, installed: Installed, service: Service) -> health.Result:
    try:
        service.restart(Path(installed.directory), installed.app.start, _environment(config, installed))
    except (ServiceError, OSError) as exc:
        return health.Result(False, str(exc))
    return _check(config, installed, service)


def _check(config: AgentConfig, installed: Installed, service: Service) -> health.Result:
    spec = installed.app.health
    return health.check(_port(config, installed), spec.path, installed.release, spec.timeout_seconds, service.gone)


def _serve(config: AgentConfig, state: State, service: Service, failure: str = "") -> Outcome:
    """Keep the installed release serving (one restart if it is not) and say how it is."""
    current = state.current
    if current is None:
        return (Health.UNHEALTHY, _join(failure, "nothing is installed")) if failure else (Health.NONE, "")
    result = _check(config, current, service)
    if not result.healthy:
        log.warning("release %s unhealthy (%s): restarting it", current.release, result.detail)
        result = _start_and_check(config, current, service)
    if failure:
        also = "" if result.healthy else f", which is unhealthy too: {result.detail}"
        return Health.UNHEALTHY, f"{failure}; serving {current.release}{also}"
    if result.healthy:
        return Health.HEALTHY, ""
    return Health.UNHEALTHY, f"release {current.release} is unhealthy: {result.detail}"


def _install(config: AgentConfig, s3: Any, state: State, service: Service, plan: Plan) -> Outcome:
    previous = state.previous
    try:
        if previous is not None and previous.digest == plan.digest and Path(previous.directory).is_dir():
            target = Path(previous.directory)  # a rollback: the release to return to is still on disk
        else:
            kept = [Path(i.directory) for i in (state.current, previous) if i is not None]
            target = stage(s3, config.bucket, plan, config.root, kept)
        switch(config.root, target)
    except Refused as exc:
        reason = f"release {plan.release} refused: {exc.reason}"
        if exc.permanent:
            state.failed = Failed(plan.fingerprint, plan.release, reason)
        return _serve(config, state, service, failure=reason)
    except OSError as exc:
        return _serve(config, state, service, failure=f"release {plan.release}: cannot switch to it: {exc}")
    new = Installed(plan.release, str(target), plan.digest, plan.app)
    result = _start_and_check(config, new, service)
    if result.healthy:
        state.previous, state.current = state.current, new
        state.converged, state.failed = plan.fingerprint, None
        prune(config.root, [Path(i.directory) for i in (state.current, state.previous) if i is not None])
        return Health.HEALTHY, ""
    reason = f"release {plan.release} failed its health check: {result.detail}"
    state.failed = Failed(plan.fingerprint, plan.release, reason)
    old = state.current
    if old is None:
        service.stop()
        unlink_current(config.root)
        return Health.UNHEALTHY, f"{reason}; no previous release to return to, the application is stopped"
    try:
        switch(config.root, Path(old.directory))
    except OSError as exc:
        return Health.UNHEALTHY, f"{reason}; cannot switch back to {old.release}: {exc}"
    back = _start_and_check(config, old, service)
    if back.healthy:
        return Health.UNHEALTHY, f"{reason}; returned to {old.release}"
    return Health.UNHEALTHY, f"{reason}; returned to {old.release}, which is unhealthy too: {back.detail}"
