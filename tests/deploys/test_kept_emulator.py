"""A kept emulator (`tapstack up --local --keep`) is a living platform: Lambda answers any client, the fleet
converges by itself, validate stays green, and Ctrl-C leaves nothing behind.

The emulator runs in a process of its own, as a user's shell runs it; this test is the other shell, with
nothing but boto3 and the printed exports: no tapstack command runs while the fleet converges.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tapstack.release import package_dir
from tests.helpers import EXAMPLES

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
REGIONS = ("us-east-1", "eu-west-1")
CODES = {"us-east-1": "use1", "eu-west-1": "euw1"}
FRESH_SECONDS = 3


@dataclass
class Kept:
    process: subprocess.Popen[str]
    temp: Path
    exports: dict[str, str]
    outputs: dict[str, Any]
    printed: list[str]

    def client(self, service: str, region: str) -> Any:
        session = boto3.session.Session(
            aws_access_key_id=self.exports["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.exports["AWS_SECRET_ACCESS_KEY"],
            region_name=region,
        )
        return session.client(
            service,
            endpoint_url=self.exports["AWS_ENDPOINT_URL"],
            verify=self.exports["AWS_CA_BUNDLE"],
            config=Config(s3={"addressing_style": "path"}, read_timeout=120, retries={"max_attempts": 1}),
        )

    def invoke(self, region: str, event: dict[str, Any]) -> dict[str, Any]:
        """boto3 lambda.invoke of the region's migration function: the handler's answer."""
        name = self.outputs[f"{CODES[region]}_function_name"]
        reply = self.client("lambda", region).invoke(FunctionName=name, Payload=json.dumps(event).encode())
        assert "FunctionError" not in reply, reply["Payload"].read()
        answer: dict[str, Any] = json.loads(reply["Payload"].read())
        return answer


def _app_processes(temp: Path) -> list[int]:
    """Processes whose working directory is under ``temp`` (an instance's release directory)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(temp) in os.readlink(proc / "cwd"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kept]:
    temp = tmp_path_factory.mktemp("kept")
    outputs = temp / "outputs.json"
    env = {**os.environ, "TMPDIR": str(temp), "PYTHONFAULTHANDLER": "1", "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-c", "from tapstack.cli import entry; entry()", "up", "--local", "--keep"]
    argv += ["--config", str(EXAMPLES / "two-region" / "Pulumi.dev.yaml"), "--outputs", str(outputs)]
    argv += ["--release", str(EXAMPLES / "app"), "--version", "1.0.0", "--bake", "1"]
    process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    printed: list[str] = []
    exports: dict[str, str] = {}
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 240
        while "AWS_CA_BUNDLE" not in exports and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                pytest.fail("up --local --keep ended before serving:\n" + "".join(printed))
            printed.append(line)
            if line.startswith("export "):
                key, _, value = line.removeprefix("export ").strip().partition("=")
                exports[key] = value
        assert "AWS_CA_BUNDLE" in exports, "".join(printed)
        yield Kept(process, temp, exports, json.loads(outputs.read_text()), printed)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_boto3_invoke_returns_the_handlers_answer(kept: Kept) -> None:
    for region in REGIONS:
        answer = kept.invoke(region, {"action": "validate"})
        assert answer["statusCode"] == 200, answer
        assert answer["body"]["result"]["fleet"]["release"] == "1.0.0"


def test_a_migrate_made_with_boto3_is_served_by_every_instance_without_any_tapstack_command(kept: Kept) -> None:
    package = package_dir(EXAMPLES / "app", "2.0.0")
    primary = kept.outputs[f"{CODES[REGIONS[0]]}_deployment_bucket"]
    s3 = kept.client("s3", REGIONS[0])
    for obj in package.objects:
        s3.put_object(Bucket=primary, Key=obj.key, Body=obj.body)
    event = {"action": "migrate", "migration_id": "by-hand-2-0-0", "manifest_key": package.manifest.key}
    for region in REGIONS:
        answer = kept.invoke(region, event)
        assert answer["statusCode"] == 200, answer
    deadline = time.monotonic() + 60
    for region in REGIONS:
        while True:
            fleet = kept.invoke(region, {"action": "validate"})["body"]["result"]["fleet"]
            beats = [i["heartbeat"] or {} for i in fleet["instances"]]
            if fleet["in_service"] and all((b.get("release"), b.get("health")) == ("2.0.0", "healthy") for b in beats):
                break
            assert time.monotonic() < deadline, f"{region} never converged on 2.0.0: {fleet['summary']}"
            time.sleep(0.5)


def test_validate_still_passes_after_the_heartbeat_freshness_window(kept: Kept) -> None:
    for region in REGIONS:
        lam = kept.client("lambda", region)
        name = kept.outputs[f"{CODES[region]}_function_name"]
        variables = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
        variables |= {"TAPSTACK_HEARTBEAT_FRESH_SECONDS": str(FRESH_SECONDS), "TAPSTACK_FLEET_GRACE_SECONDS": "0"}
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
    time.sleep(2 * FRESH_SECONDS)
    for region in REGIONS:
        answer = kept.invoke(region, {"action": "validate"})
        fleet = answer["body"]["result"]["fleet"]
        assert answer["statusCode"] == 200, answer["body"]["message"]
        assert (fleet["fresh_seconds"], fleet["grace_seconds"]) == (FRESH_SECONDS, 0)
        assert fleet["serving"] == fleet["in_service"] >= 1


def test_release_endpoint_waits_for_the_kept_fleet_whose_instances_return_to_the_release_they_served(
    kept: Kept, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tapstack.cli import main
    from tapstack.emulator.fleet import Fleet

    def second_fleet(*args: object, **kwargs: object) -> Fleet:
        raise AssertionError("tapstack release started a fleet of its own next to the kept one")

    monkeypatch.setattr(Fleet, "start", second_fleet)
    for key, value in kept.exports.items():
        monkeypatch.setenv(key, value)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(kept.outputs))
    argv = [
        "release",
        str(EXAMPLES / "app-broken"),
        "--version",
        "3.0.0",
        "--endpoint",
        kept.exports["AWS_ENDPOINT_URL"],
    ]
    assert main([*argv, "--outputs", str(outputs), "--bake", "1", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    canary = report["regions"][0]
    assert canary["state"] == "rolled_back"
    assert "unhealthy on 2.0.0: release 3.0.0 failed its health check" in canary["detail"], (
        "each instance went back to the release it served before, by itself"
    )
    assert "no previous release" not in canary["detail"]
    for region in REGIONS:
        fleet = kept.invoke(region, {"action": "validate"})["body"]["result"]["fleet"]
        assert fleet["release"] == "2.0.0"
        assert [(i["heartbeat"]["release"], i["heartbeat"]["health"]) for i in fleet["instances"]] == [
            ("2.0.0", "healthy")
        ] * len(fleet["instances"])


def test_release_without_endpoint_once_the_exports_are_set_releases_through_the_lambda_api(
    kept: Kept, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tapstack.cli import main

    for key, value in kept.exports.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(kept.outputs))
    argv = ["release", str(EXAMPLES / "app"), "--version", "4.0.0", "--outputs", str(outputs), "--bake", "1"]
    assert main([*argv, "--json"]) == 0, capsys.readouterr().out
    report = json.loads(capsys.readouterr().out)
    assert report["target"] == "AWS" and [r["state"] for r in report["regions"]] == ["current", "current"]
    for region in REGIONS:
        assert kept.invoke(region, {"action": "validate"})["body"]["result"]["fleet"]["release"] == "4.0.0"


def test_ctrl_c_stops_the_fleet_and_its_apps_and_leaves_nothing_behind(kept: Kept) -> None:
    assert _app_processes(kept.temp), "the kept fleet's apps should be running before Ctrl-C"
    kept.process.send_signal(signal.SIGINT)
    try:
        rest, _ = kept.process.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # faulthandler (PYTHONFAULTHANDLER) prints every thread's stack on SIGABRT
        kept.process.send_signal(signal.SIGABRT)
        rest, _ = kept.process.communicate(timeout=30)
        pytest.fail("up --local --keep did not stop within 60 s of Ctrl-C:\n" + rest[-20_000:])
    assert kept.process.returncode == 0, "".join(kept.printed) + rest
    assert _app_processes(kept.temp) == []
    assert sorted(p.name for p in kept.temp.iterdir() if p.name.startswith("tapstack-")) == []
