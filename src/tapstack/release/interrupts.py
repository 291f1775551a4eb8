"""SIGINT, SIGTERM and SIGHUP during a release: the first one unwinds like Ctrl-C, later ones wait their turn.

A cancelled CI job or ``timeout`` sends SIGTERM, a closed terminal SIGHUP; their default action ends the
process where it stands, with a region migrated, the release lease held for its ttl and the simulated fleet's
processes orphaned. Inside ``signals_as_interrupts`` each of them raises ``Interrupted`` (a KeyboardInterrupt)
in the main thread, so the release's one failure path runs: read the pointers, roll back, report.

Once that path has started, a second signal must not cut the rollback short (it would leave regions on two
releases), so later signals are recorded and ignored. Code that must not be cut in two (a Lambda invocation,
which on AWS finishes whatever the client does; giving the lease back) runs ``shielded``: a signal arriving
inside is held and raised when the block ends.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A signal that stops the release; ``name`` says which, ``exit_code`` is the shell's 128 + number."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.name = signal.Signals(signum).name
        self.exit_code = 128 + signum
        super().__init__(self.name)


class _State:
    def __init__(self) -> None:
        self.installed = 0
        self.shield = 0
        self.pending: int | None = None
        self.raised = False


_state = _State()


def _handler(signum: int, frame: FrameType | None) -> None:
    if _state.raised:
        return  # the failure path is running: it ends on its own, a second signal must not cut it short
    if _state.shield:
        _state.pending = _state.pending or signum
        return
    _state.raised = True
    raise Interrupted(signum)


@contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """While inside (main thread only; nesting is harmless), SIGINT, SIGTERM and SIGHUP raise ``Interrupted``."""
    if threading.current_thread() is not threading.main_thread() or _state.installed:
        _state.installed += 1
        try:
            yield
        finally:
            _state.installed -= 1
        return
    previous = {s: signal.signal(s, _handler) for s in SIGNALS}
    _state.installed, _state.raised, _state.pending = 1, False, None
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _state.installed, _state.raised, _state.pending = 0, False, None


@contextmanager
def shielded(*, reraise: bool = True) -> Iterator[None]:
    """Hold a signal until the block ends, then raise it (``reraise``) or keep it for ``take_pending``."""
    _state.shield += 1
    try:
        yield
    finally:
        _state.shield -= 1
        if reraise and not _state.shield and _state.pending is not None and not _state.raised:
            signum, _state.pending = _state.pending, None
            _state.raised = True
            raise Interrupted(signum)


def take_pending() -> int | None:
    """A signal held by a ``shielded(reraise=False)`` block and not raised: the caller decides what it means."""
    signum, _state.pending = _state.pending, None
    return signum


def unwinding() -> None:
    """Mark the failure path as started (it may have begun from an exception, not a signal): later signals wait."""
    _state.raised = True
