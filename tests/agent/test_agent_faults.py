"""Every AWS call of an agent pass failed in turn, and the agent killed at every call and every local step.

A clean pass from 1.0.0 to the next release is recorded: its AWS calls (``Faults`` on the agent's own clients)
and its local steps (staging, the switch of ``current``, the restart with its health check, pruning, saving
the state), in order. Then each point gets its own pass on a fresh release:

- an AWS call fails (throttle, 500, connection in turn): the pass still ends with a heartbeat (or
  ``HeartbeatUndelivered`` carrying it), whose release is what the application serves;
- the agent dies there (``Killed``, past every ``except``): ``current`` names one whole release, old or new.

Either way the next pass (a new agent process: state read from disk) serves the new release, healthy.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from tapstack.agent import cycle
from tapstack.agent.heartbeat import Heartbeat, HeartbeatUndelivered
from tapstack.agent.install import current_link, releases_dir
from tapstack.agent.state import State
from tests.agent.helpers import APP, Instance, pack_files
from tests.release.faults import KILL, Faults, Killed, Point

STEPS = ("stage", "switch", "_start_and_check", "prune")
"""The cycle's local steps (module functions a pass calls), besides its AWS calls and saving its state."""
ERRORS = ("throttle", "500", "connection")


def _archive(release: str) -> bytes:
    return pack_files({"app.py": (APP / "app.py").read_bytes(), "RELEASE": release.encode()})


class Pass:
    def __init__(self, instance: Instance, monkeypatch: pytest.MonkeyPatch) -> None:
        self.instance = instance
        self.faults = Faults(instance.agent_s3, instance.agent_sts)
        self.order: list[Point | str] = []
        """The pass's AWS calls (Point) and local steps (``name#n``), in the order they ran."""
        self.kill_at = ""
        self.killed = False
        self.versions = (f"{n}.0.0" for n in itertools.count(2))
        self._seen: dict[str, int] = {}
        original = self.faults._point

        def noting(model: Any, context: dict[str, Any]) -> Point:
            point = original(model, context)
            self.order.append(point)
            return point

        self.faults._point = noting  # type: ignore[method-assign]
        for name in STEPS:
            monkeypatch.setattr(cycle, name, self._step(name, getattr(cycle, name)))
        monkeypatch.setattr(State, "save", self._step("State.save", State.save))

    def _step(self, name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def step(*args: Any, **kwargs: Any) -> Any:
            label = f"{name}#{self._seen.get(name, 0)}"
            self._seen[name] = self._seen.get(name, 0) + 1
            self.order.append(label)
            if label == self.kill_at:
                self.killed = True
                raise Killed(label)
            return real(*args, **kwargs)

        return step

    def run(self, point: Point | None = None, kind: str = "", kill_at: str = "") -> Heartbeat | None:
        """One pass on a freshly published release; None when the agent was killed."""
        self.order, self._seen, self.kill_at, self.killed = [], {}, kill_at, False
        self.faults.arm(point, kind)
        try:
            return self.instance.run()
        except HeartbeatUndelivered as undelivered:
            return undelivered.heartbeat
        except Killed:
            self.killed = True
            return None


@pytest.fixture
def agent(instance: Instance, monkeypatch: pytest.MonkeyPatch) -> Pass:
    instance.publish("1.0.0", _archive("1.0.0"))
    assert instance.run().health == "healthy"
    return Pass(instance, monkeypatch)


def _check(agent: Pass, where: str, beat: Heartbeat | None, old: str, new: str) -> None:
    root = agent.instance.config.root
    link = current_link(root).resolve()
    assert link.parent == releases_dir(root).resolve() and (link / "app.py").is_file(), where
    assert (link / "RELEASE").read_text() in (old, new), where
    if beat is not None:
        assert beat.release in (old, new), f"{where}: {beat}"
        assert agent.instance.serving() == beat.release, f"{where}: {beat}"
    again = agent.run()
    assert again is not None and (again.release, again.health) == (new, "healthy"), f"{where}: then {again}"
    assert agent.instance.serving() == new, where


def test_every_call_and_step_of_an_agent_pass_failed_or_killed_leaves_one_whole_release_and_the_next_pass_converges(
    agent: Pass,
) -> None:
    old = "1.0.0"
    version = next(agent.versions)
    agent.instance.publish(version, _archive(version))
    beat = agent.run()
    assert beat is not None and (beat.release, beat.health) == (version, "healthy")
    points = list(agent.faults.calls)
    steps = list(agent.order)
    outcomes: dict[str, int] = {}
    kinds = itertools.cycle(ERRORS)
    for point in points:
        old, version = version, next(agent.versions)
        agent.instance.publish(version, _archive(version))
        kind = next(kinds)
        beat = agent.run(point, kind)
        assert agent.faults.hit, f"{point} never reached"
        _check(agent, f"{point} {kind}", beat, old, version)
        key = f"{kind}: {'healthy on new' if beat and beat.release == version else beat.health if beat else '-'}"
        outcomes[key] = outcomes.get(key, 0) + 1
    for step in steps:
        old, version = version, next(agent.versions)
        agent.instance.publish(version, _archive(version))
        beat = agent.run(step, KILL) if isinstance(step, Point) else agent.run(kill_at=step)
        assert agent.killed and beat is None, f"{step} never reached"
        _check(agent, f"kill at {step}", None, old, version)
        outcomes["kill"] = outcomes.get("kill", 0) + 1
    assert len(points) >= 4 and len(steps) >= len(points) + len(STEPS)
    print(f"\n{len(points)} calls, {len(steps)} steps: {outcomes}")
