"""runner.run when registrations fail: the caller gets the failure, and nothing about it is printed later; the
aliases it records (a moved resource keeps its URN).
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pulumi
import pytest

from tests.helpers import ROOT

SCRIPT = """
from tapstack.cli import fast_start
fast_start.install()  # the SDK as the CLI loads it: only the modules used
import pulumi, pulumi_aws as aws, pytest
from tapstack import runner
from tapstack.emulator.engine import DeployError, Engine
from tapstack.emulator.server import Emulator

def orphans():
    provider = aws.Provider("aws-us-east-1", region="us-east-1")
    for i in range(4):
        aws.ec2.Subnet(f"orphan{i}", vpc_id="vpc-0123456789abcdef0", cidr_block=f"10.1.{i}.0/24",
                       opts=pulumi.ResourceOptions(provider=provider))

def bucket():
    aws.s3.Bucket("ok", opts=pulumi.ResourceOptions(provider=aws.Provider("p", region="us-east-1")))

with Emulator.start() as emulator:
    for _ in range(2):
        with pytest.raises(DeployError, match="InvalidVpcID.NotFound"):
            runner.run(orphans, Engine(emulator), project="unit", stack="fail", config={})
    runner.run(bucket, Engine(emulator), project="unit", stack="next", config={})
print("raised twice")
"""


@pytest.mark.integration
def test_a_failed_deploy_then_another_print_nothing_about_the_first_ones_failures() -> None:
    """The runtime's loop outlives a run: the failed run's other registrations settle while the next run pumps
    it, and asyncio would print each as 'Future exception was never retrieved' with a traceback."""
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout == "raised twice\n"
    assert "never retrieved" not in done.stderr


def test_other_unretrieved_exceptions_still_reach_asyncios_handler(caplog: pytest.LogCaptureFixture) -> None:
    from tapstack import runner

    runner.run(lambda: None, _NoMocks(), project="unit", stack="ok", config={})
    loop = pulumi.runtime.sync_await._ensure_event_loop()  # type: ignore[attr-defined]
    with caplog.at_level("ERROR", logger="asyncio"):
        loop.call_exception_handler({"message": "Future exception was never retrieved", "exception": ValueError("x")})
    assert any("never retrieved" in r.getMessage() for r in caplog.records)


class _NoMocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, object]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, object], None]:
        return {}, None


class _Box(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("unit:index:Box", name, None, opts)


def _renamed_box_with_a_leaf() -> None:
    """A component renamed from "old" to "new" (an alias), with a child named after it, as components name theirs."""
    box = _Box("new", pulumi.ResourceOptions(aliases=[pulumi.Alias(name="old")]))
    _Box("new-leaf", pulumi.ResourceOptions(parent=box))
    _Box("plain")


def test_the_graph_records_each_resources_aliases_and_those_its_children_inherit_as_the_engine_does() -> None:
    from tapstack import runner

    graph = runner.run(_renamed_box_with_a_leaf, _NoMocks(), project="unit", stack="s", config={})
    aliases = {r.name: r.aliases for r in graph}
    assert aliases["new"] == ["urn:pulumi:s::unit::pulumi:pulumi:Stack$unit:index:Box::old"]
    assert aliases["new-leaf"] == ["urn:pulumi:s::unit::unit:index:Box$unit:index:Box::old-leaf"]
    assert aliases["plain"] == []


def test_a_resource_without_aliases_has_no_aliases_key_in_the_graph_file() -> None:
    from tapstack import runner

    graph = runner.run(_renamed_box_with_a_leaf, _NoMocks(), project="unit", stack="s", config={})
    by_name = {r["name"]: r for r in graph.to_dict()["resources"]}
    assert "aliases" not in by_name["plain"]
    assert by_name["new"]["aliases"] == ["urn:pulumi:s::unit::pulumi:pulumi:Stack$unit:index:Box::old"]


def test_a_run_under_mocks_captures_no_stack_per_resource_and_gives_the_sdk_its_capture_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import traceback

    from pulumi.runtime import resource as sdk_resource

    from tapstack import runner

    captured = sdk_resource._get_stack_trace
    from_the_program: list[bool] = []
    extract = traceback.extract_stack

    def spy(*args: Any, **kwargs: Any) -> traceback.StackSummary:
        stack = extract(*args, **kwargs)
        from_the_program.append(any(frame.name == "_renamed_box_with_a_leaf" for frame in stack))
        return stack

    monkeypatch.setattr(traceback, "extract_stack", spy)
    runner.run(_renamed_box_with_a_leaf, _NoMocks(), project="unit", stack="quiet", config={})
    assert not any(from_the_program), "a resource the program declared had its stack captured"
    assert sdk_resource._get_stack_trace is captured

    def failing() -> None:
        _Box("before")
        raise RuntimeError("the program failed")

    with pytest.raises(RuntimeError, match="the program failed"):
        runner.run(failing, _NoMocks(), project="unit", stack="failing", config={})
    assert sdk_resource._get_stack_trace is captured


class _KeptStates(pulumi.runtime.Mocks):
    """The synth's own mocks, keeping every state they return."""

    def __init__(self) -> None:
        from tapstack.synth import RecordingMocks

        self.inner = RecordingMocks()
        self.states: list[dict[str, Any]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        resource_id, state = self.inner.new_resource(args)
        self.states.append(state)
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        return self.inner.call(args)


def _sdk_struct(state: dict[str, Any]) -> Any:
    from pulumi.runtime import rpc
    from pulumi.runtime.sync_await import _sync_await

    return _sync_await(rpc.serialize_properties(state, {}))


def test_every_state_of_a_synthesized_platform_serializes_as_the_sdk_serializes_it() -> None:
    from tapstack import runner
    from tapstack.program import main as program
    from tests.helpers import example_config

    mocks = _KeptStates()
    config = {f"tapstack:{k}" if ":" not in k else k: v for k, v in example_config("platform").items()}
    config["tapstack:migrationToken"] = "synth-token-value-0123456789"
    graph = runner.run(program, mocks, project="tapstack", stack="dev", config=config)
    assert len(mocks.states) == len(graph.resources)
    plain = [state for state in mocks.states if runner._is_plain(state)]
    assert len(plain) > len(mocks.states) * 0.9, "the direct path should serve nearly every state"
    for state in mocks.states:
        assert runner.state_struct(state) == _sdk_struct(state)


@pytest.mark.parametrize(
    "state",
    [
        {"a": None, "b": {"c": None, "d": [None, 1, 2.5, True, "x"]}, "e": (1, "y"), "f": {}, "g": []},
        {"secret": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "s"}},
        {"unicode": "é€😀", "big": 2**53, "neg": -0.0, "nested": [[[{"k": "v"}]]]},
    ],
    ids=["nulls-and-nesting", "secret-wrapper", "numbers-and-text"],
)
def test_a_plain_state_serializes_as_the_sdk_serializes_it(state: dict[str, Any]) -> None:
    from tapstack import runner

    assert runner._is_plain(state)
    assert runner.state_struct(state) == _sdk_struct(state)


def test_a_state_holding_an_asset_or_a_subclass_of_str_takes_the_sdks_path() -> None:
    import enum

    from tapstack import runner

    class Colour(enum.StrEnum):
        RED = "red"

    archive = pulumi.AssetArchive({"index.py": pulumi.StringAsset("print(1)")})
    for state in ({"code": archive}, {"nested": {"colour": Colour.RED}}, {"items": [Colour.RED]}):
        assert not runner._is_plain(state)
        assert runner.state_struct(state) == _sdk_struct(state)


class _ThreadNoting(_NoMocks):
    def __init__(self, failing: str | None = None) -> None:
        self.threads: set[str] = set()
        self.failing = failing

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, object]]:
        import threading

        self.threads.add(threading.current_thread().name)
        if args.name == self.failing:
            raise ValueError(f"the mock refused {args.name}")
        return super().new_resource(args)


def _the_loop() -> Any:
    return pulumi.runtime.sync_await._ensure_event_loop()  # type: ignore[attr-defined,no-untyped-call]


def test_compute_only_mocks_are_called_on_the_runs_own_thread_and_the_loop_gets_its_pool_back() -> None:
    import threading

    from tapstack import runner

    mocks = _ThreadNoting()
    runner.run(_renamed_box_with_a_leaf, mocks, project="unit", stack="inline", config={}, mocks_compute_only=True)
    assert mocks.threads == {threading.current_thread().name}
    assert "run_in_executor" not in vars(_the_loop())


def test_other_mocks_are_called_from_the_runtimes_thread_pool() -> None:
    import threading

    from tapstack import runner

    mocks = _ThreadNoting()
    runner.run(_renamed_box_with_a_leaf, mocks, project="unit", stack="pool", config={})
    assert mocks.threads and threading.current_thread().name not in mocks.threads


@pytest.mark.parametrize("compute_only", [True, False], ids=["inline", "pool"])
def test_a_mock_that_fails_fails_the_run_with_its_own_error_either_way(compute_only: bool) -> None:
    from tapstack import runner

    with pytest.raises(ValueError, match="the mock refused new-leaf"):
        runner.run(
            _renamed_box_with_a_leaf,
            _ThreadNoting(failing="new-leaf"),
            project="unit",
            stack=f"failing-{compute_only}",
            config={},
            mocks_compute_only=compute_only,
        )
    assert "run_in_executor" not in vars(_the_loop())
