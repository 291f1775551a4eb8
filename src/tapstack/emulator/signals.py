"""SIGTERM delivered like Ctrl-C, so that every cleanup that runs on Ctrl-C runs on it too."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C: every cleanup that runs on Ctrl-C (stop, key removal) runs on it too."""

    exit_code = 128 + signal.SIGTERM


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises ``Terminated`` in the main thread; the previous handler is restored after.

    A supervisor, ``timeout`` or ``kill`` stops a local deploy with SIGTERM, whose default action ends the
    process without unwinding: the emulator's TLS private key would stay in the temp folder. Raised as an
    exception, it unwinds through ``Emulator.__exit__`` / ``stop()`` like Ctrl-C. Outside the main thread
    (where Python cannot install handlers) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
