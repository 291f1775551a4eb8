"""`tapstack up` and `tapstack invoke` as a user meets them when something is wrong, and the summary shown."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console

from tapstack.cli import main
from tapstack.cli import up as command
from tapstack.emulator.deploy import Check
from tapstack.emulator.engine import Clients
from tapstack.emulator.server import Emulator
from tapstack.graph import Graph
from tests.helpers import EXAMPLES

FOUNDATION = str(EXAMPLES / "foundation" / "Pulumi.dev.yaml")


def test_up_without_local_points_to_pulumi_up_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["up", "--config", FOUNDATION]) == 2
    assert "real deployments use the Pulumi CLI: `pulumi up`" in capsys.readouterr().err


def test_up_refuses_an_endpoint_off_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["up", "--local", "--config", FOUNDATION, "--endpoint", "https://10.1.2.3:4566"]) == 2
    assert "10.1.2.3 is not a loopback address" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("{not json", "--payload '{not json': not JSON"),
        ("[1, 2]", "--payload '[1, 2]': expected a JSON object"),
    ],
)
def test_invoke_refuses_a_payload_that_is_not_a_json_object(
    payload: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["invoke", "status", "--endpoint", "https://127.0.0.1:4566", "--region", "us-east-1"]
    assert main([*args, "--payload", payload]) == 2
    assert message in capsys.readouterr().err


def test_invoke_needs_a_region_when_no_outputs_file_names_the_primary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "flat-outputs.json"
    assert main(["invoke", "validate", "--endpoint", "https://127.0.0.1:4566", "--outputs", str(missing)]) == 2
    assert f"--region is required ({missing} does not give a primary_region)" in capsys.readouterr().err


def test_invoke_says_when_the_region_has_no_migration_function(capsys: pytest.CaptureFixture[str]) -> None:
    with Emulator.start(tls=False) as emulator:
        assert main(["invoke", "validate", "--endpoint", emulator.url, "--region", "sa-east-1"]) == 2
    assert "expected one TapStack migration function in sa-east-1, the emulator has: none" in capsys.readouterr().err


def test_a_failed_deploy_names_the_resource_and_the_aws_error_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Emulator.start(tls=False) as emulator:
        # Someone else already owns the instance role's name in this "account".
        Clients(emulator)("iam", "us-east-1").create_role(
            RoleName="tapstack-instance-use1-dev", AssumeRolePolicyDocument="{}"
        )
        args = ["up", "--local", "--config", FOUNDATION, "--endpoint", emulator.url]
        assert main([*args, "--outputs", str(tmp_path / "out.json")]) == 1
    err = capsys.readouterr().err
    assert "deploy failed: use1-app-role (aws:iam/role:Role) in us-east-1: AWS error EntityAlreadyExists" in err
    assert not (tmp_path / "out.json").exists(), "no outputs are written for a failed deploy"


def test_the_summary_shows_each_regions_resources_and_checks() -> None:
    checks = [
        Check("us-east-1", "validate", True, "all 7 checks passed"),
        Check("eu-west-1", "validate", False, "1 of 6 checks failed: secret"),
    ]
    console = Console(width=120, record=True)
    console.print(command._summary_table({"us-east-1": 92, "eu-west-1": 89}, checks))
    text = console.export_text()
    assert "│ eu-west-1 │        89 │ validate: FAILED (1 of 6 checks failed: secret) │" in text
    assert "│ us-east-1 │        92 │ validate: passed (all 7 checks passed)          │" in text


def test_the_summary_lists_the_primary_region_first() -> None:
    console = Console(width=120, record=True)
    order = ["us-east-1", "eu-west-1", "ap-south-1"]
    console.print(command._summary_table({"ap-south-1": 1, "eu-west-1": 2, "us-east-1": 3}, [], order=order))
    rows = [line.split("│")[1].strip() for line in console.export_text().splitlines() if line.startswith("│")]
    assert [r for r in rows if r in order] == order


def test_keep_prints_what_another_shell_needs_and_stops_on_ctrl_c(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(self: threading.Event, timeout: float | None = None) -> bool:
        raise KeyboardInterrupt

    with Emulator.start() as emulator:
        with monkeypatch.context() as patched:
            patched.setattr(threading.Event, "wait", interrupted)
            command._serve(emulator)
        out = capsys.readouterr().out
        assert f"export AWS_ENDPOINT_URL={emulator.url}" in out
        assert f"export AWS_CA_BUNDLE={emulator.ca_bundle}" in out
        assert "stopping the emulator" in out


def test_up_against_a_deployed_graph_prints_the_changes_before_it_deploys(
    tmp_path: Path, foundation: Graph, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed = Graph.from_dict(json.loads(json.dumps(foundation.to_dict())))
    [template] = deployed.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    template.inputs["instanceType"] = "t3.small"
    old = tmp_path / "old.json"
    deployed.write(old)
    with Emulator.start(tls=False) as emulator:
        # The deploy stops at its first resource's name conflict: what was printed before it is the diff.
        Clients(emulator)("iam", "us-east-1").create_role(
            RoleName="tapstack-instance-use1-dev", AssumeRolePolicyDocument="{}"
        )
        args = ["up", "--local", "--config", FOUNDATION, "--endpoint", emulator.url, "--against", str(old)]
        assert main([*args, "--outputs", str(tmp_path / "out.json")]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == "us-east-1"
    assert lines[1].split() == ["~", "update", "autoscaling:Group", "use1-app-asg", "launchTemplate"]
    assert "instanceType" in captured.out and "instance refresh of tapstack-app-use1-dev" in captured.out
    assert any(line.startswith("no data destroyed: 0 to create, 2 to update in place") for line in lines)
    assert "deploy failed:" in captured.err


class _ServingEmulator:
    """What ``_serve`` reads of an emulator it owns; ``serving`` is set once it prints the exports (then it waits)."""

    owned = True
    url = "https://127.0.0.1:1"
    fleet = None

    def __init__(self) -> None:
        self.serving = threading.Event()

    def environment(self) -> dict[str, str]:
        self.serving.set()
        return {}


def test_a_kept_emulator_stops_on_a_ctrl_c_that_another_thread_took() -> None:
    """The kernel hands a process's SIGINT to any thread; Python runs its handler only in the main thread, the next
    time it runs. A serving main thread must wake by itself to answer it."""
    import signal

    main_thread = threading.get_ident()
    rescued = threading.Event()
    emulator = _ServingEmulator()
    sent: list[float] = []

    def ctrl_c_on_this_thread() -> None:
        emulator.serving.wait(10)
        time.sleep(0.3)  # past the prints, into the wait
        sent.append(time.monotonic())
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)
        if not rescued.wait(5):  # still serving: interrupt the main thread itself, so the test ends and fails
            signal.pthread_kill(main_thread, signal.SIGINT)

    helper = threading.Thread(target=ctrl_c_on_this_thread)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # an xdist worker ignores SIGINT
    try:
        helper.start()
        command._serve(emulator)  # type: ignore[arg-type]
    finally:
        signal.signal(signal.SIGINT, previous)
    elapsed = time.monotonic() - sent[0]
    rescued.set()
    helper.join()
    assert elapsed < 2, f"Ctrl-C taken by another thread was answered after {elapsed:.1f}s"
