"""A kept emulator's fleet: every instance's agent on its timer, for as long as the emulator serves.

On EC2 the agent runs from a systemd timer (at boot, then 30 s after each pass ends) whether or not anyone is
releasing; an instance's disk outlives every command. A kept emulator (``tapstack up --local --keep``) does
the same with the simulated fleet: one timer thread per region runs a pass of every instance's agent
``interval`` seconds after the last one ended, so the apps keep serving, heartbeats stay fresh (``validate``
stays green), a migrate made by any client (``aws lambda invoke``, boto3, ``tapstack release``) converges
the fleet by itself, and each instance keeps its directory (its disk): a self-revert returns to the release
the instance really served before. Locally the interval is short (``LOCAL_AGENT_SECONDS``); the AWS timer
is unchanged.

The emulator tells other processes that its fleet lives (``Emulator.fleet``, served at
``server.FLEET_PATH``), so ``tapstack release --endpoint`` waits for these agents instead of starting a
fleet of its own, whose agents would fight these over one heartbeat per instance.

IAM: moto's enforcement switch is process-wide, and a living fleet's passes overlap every other client's
requests, so its agents run with ``enforce_iam=False`` (their requests still carry the instance role's
credentials; the least-privilege tests enforce IAM on sequential passes).
"""

from __future__ import annotations

import threading

from .fleet import Fleet

LOCAL_AGENT_SECONDS = 1.0
"""Seconds between the end of one agent pass and the next in a kept emulator (30 on EC2)."""
STOP_SECONDS = 30.0
"""The longest ``stop`` waits for a pass in flight (an install health-checks its app for seconds)."""


class LivingFleet:
    """A simulated fleet run on its timer until ``stop()``, which also stops every app."""

    def __init__(self, fleet: Fleet, interval: float = LOCAL_AGENT_SECONDS) -> None:
        """Keep ``fleet`` (its instances, their disks and apps, as they are now) alive on the timer."""
        if interval <= 0:
            raise ValueError(f"agent interval {interval}: must be above 0")
        self.emulator = fleet.emulator
        self.fleet = fleet
        self.interval = interval
        fleet.enforce_iam = False
        self.errors: dict[str, str] = {}
        """region -> why its last pass failed (a pass that works again clears it)."""
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> LivingFleet:
        for region in self.fleet.regions:
            thread = threading.Thread(target=self._timer, args=(region,), name=f"agent-timer-{region}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self.emulator.fleet = {"interval_seconds": self.interval, "regions": self.fleet.regions}
        return self

    def _timer(self, region: str) -> None:
        while not self._stopping.is_set():
            try:
                self.fleet.converge(region)
                self.errors.pop(region, None)
            except Exception as err:  # the timer runs the next pass anyway, as systemd's does
                self.errors[region] = f"{type(err).__name__}: {err}"
            self._stopping.wait(self.interval)

    def stop(self) -> None:
        """Stop the timers, then every app process; the instances' directories go with them."""
        self.emulator.fleet = None
        self._stopping.set()
        for thread in self._threads:
            thread.join(STOP_SECONDS)
        self._threads.clear()
        self.fleet.stop()

    def __enter__(self) -> LivingFleet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
