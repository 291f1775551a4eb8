"""The emulator's replication thread: ``settle`` waits for what is due, not for what is held back."""

from __future__ import annotations

import threading
import time

from tapstack.emulator.replication import _Worker


def test_settle_returns_once_every_due_replication_has_landed() -> None:
    worker, landed = _Worker(), threading.Event()
    worker.submit(time.monotonic(), lambda: (time.sleep(0.2), landed.set()))
    assert worker.settle(5)
    assert landed.is_set()


def test_settle_does_not_wait_for_a_replication_held_back_until_later() -> None:
    worker, landed = _Worker(), threading.Event()
    worker.submit(time.monotonic() + 3600, landed.set)
    started = time.monotonic()
    assert worker.settle(5)
    assert time.monotonic() - started < 1 and not landed.is_set()


def test_settle_says_when_a_replication_outlasts_its_timeout() -> None:
    worker, release = _Worker(), threading.Event()
    worker.submit(time.monotonic(), lambda: release.wait(5))
    assert not worker.settle(0.2)
    release.set()
    assert worker.settle(5)
