"""The user data: what cloud-init receives is small enough, secret-free, and installs an agent that runs
without the tapstack package, on Amazon Linux 2023's Python 3.9."""

from __future__ import annotations

import ast
import base64
import gzip
import io
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

import tapstack
from tapstack.agent import userdata
from tapstack.agent.userdata import USER_DATA_LIMIT, packed_user_data, render_user_data

LONGEST_BUCKET = "b" * 63


def _document(text: str) -> dict[str, Any]:
    header, body = text.split("\n", 1)
    assert header == "#cloud-config"
    return dict(json.loads(body))


def _files(text: str) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in _document(text)["write_files"]}


def _bundle_members(text: str) -> dict[str, str]:
    raw = base64.b64decode(_files(text)[userdata.BUNDLE]["content"])
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:xz") as tar:
        return {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers()}  # type: ignore[union-attr]


def test_user_data_stays_under_the_16_kb_aws_accepts_even_for_the_longest_names() -> None:
    packed = packed_user_data(region="ap-southeast-2", bucket=LONGEST_BUCKET)
    assert len(packed) < USER_DATA_LIMIT == 16 * 1024
    assert gzip.decompress(packed).decode() == render_user_data(region="ap-southeast-2", bucket=LONGEST_BUCKET)


def test_the_agent_is_told_its_region_and_bucket_and_nothing_secret() -> None:
    text = render_user_data(region="eu-west-1", bucket="tapstack-deploy-dev-euw1")
    assert json.loads(_files(text)["/etc/tapstack/agent.json"]["content"]) == {
        "region": "eu-west-1",
        "bucket": "tapstack-deploy-dev-euw1",
        "root": "/opt/tapstack",
    }
    secret = re.compile(r"A(KIA|SIA)[0-9A-Z]{16}|aws_secret_access_key|SecretAccessKey|password", re.I)
    bundle = _files(text)[userdata.BUNDLE]["content"]  # base64 of xz: any 20 letters may occur; read it unpacked
    assert not secret.search(text.replace(bundle, ""))
    assert not any(secret.search(member) for member in _bundle_members(text).values())


def test_boto3_comes_from_the_al2023_repository_and_the_units_are_enabled() -> None:
    commands = _document(render_user_data(region="us-east-1", bucket="b"))["runcmd"]
    assert "dnf install -y python3 python3-boto3" in commands[0][2]
    assert ["systemctl", "enable", "--now", "tapstack-agent.timer"] in commands
    assert ["systemctl", "enable", "tapstack-app.service"] in commands
    assert not any("pip" in " ".join(c) for c in commands), "nothing from PyPI"


def test_the_timer_runs_the_agent_at_boot_and_30_seconds_after_each_pass() -> None:
    files = _files(render_user_data(region="us-east-1", bucket="b"))
    timer = files["/etc/systemd/system/tapstack-agent.timer"]["content"]
    assert "OnBootSec=5s" in timer and "OnUnitInactiveSec=30s" in timer
    service = files["/etc/systemd/system/tapstack-agent.service"]["content"]
    assert "Type=oneshot" in service and "ExecStart=/usr/bin/python3 -m tapstack_agent" in service
    app = files["/etc/systemd/system/tapstack-app.service"]["content"]
    assert "EnvironmentFile=-/etc/tapstack/app.env" in app and "DynamicUser=yes" in app


def test_the_bundle_holds_every_agent_module_and_the_contract_and_not_the_renderer() -> None:
    members = _bundle_members(render_user_data(region="us-east-1", bucket="b"))
    expected = {f"tapstack_agent/{p.name}" for p in Path(userdata.__file__).parent.glob("*.py")} - {
        "tapstack_agent/userdata.py"
    }
    assert set(members) == expected | {"tapstack/__init__.py", "tapstack/contract.py"}
    assert "cycle.py" in {Path(m).name for m in members} and "__main__.py" in {Path(m).name for m in members}


def test_the_bundle_is_byte_identical_for_identical_sources() -> None:
    assert userdata.build_bundle() == userdata.build_bundle() == userdata.bundle()


def test_a_kept_bundle_is_read_back_until_a_source_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = tmp_path / "src"
    sources.mkdir()
    for path in userdata.agent_sources():
        (sources / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(userdata, "agent_sources", lambda: sorted(sources.glob("*.py")))
    monkeypatch.setattr(userdata, "build_root", lambda kind: tmp_path / "build" / kind)
    built: list[bytes] = []
    build = userdata.build_bundle
    monkeypatch.setattr(userdata, "build_bundle", lambda: built.append(build()) or built[-1])
    fresh = userdata.bundle.__wrapped__  # past the per-process cache: what the next run does
    first = fresh()
    assert fresh() == first and len(built) == 1
    (sources / "cycle.py").write_text((sources / "cycle.py").read_text() + "\nCHANGED = 1\n")
    assert fresh() != first and len(built) == 2


@pytest.mark.parametrize("name", sorted(userdata.shipped_files()))
def test_every_shipped_module_parses_with_python_3_9_grammar(name: str) -> None:
    shipped = userdata.shipped_files()[name]
    ast.parse(shipped, feature_version=(3, 9))
    source = Path(tapstack.__file__).parent / name.partition("/")[2]
    if name.startswith("tapstack_agent/"):
        source = Path(userdata.__file__).parent / name.partition("/")[2]
    ast.parse(source.read_text(), feature_version=(3, 9))
    docstring_only = shipped == "pass\n"
    assert docstring_only or shipped.startswith("from __future__ import annotations"), "annotations stay unevaluated"


def test_the_unpacked_bundle_runs_a_pass_with_its_own_contract_not_the_installed_tapstack(tmp_path: Path) -> None:
    members = _bundle_members(render_user_data(region="eu-west-1", bucket="b"))
    for name, text in members.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    script = f"""
import sys
sys.path.insert(0, {str(tmp_path)!r})
from moto import mock_aws
import boto3
with mock_aws():
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="tapstack-bundle-test", CreateBucketConfiguration={{"LocationConstraint": "eu-west-1"}})
    from tapstack_agent.config import AgentConfig
    from tapstack_agent.cycle import run_once
    from tapstack_agent.service import ProcessService
    from pathlib import Path
    beat = run_once(AgentConfig("eu-west-1", "tapstack-bundle-test", Path({str(tmp_path / "root")!r}), 1),
                    boto3.client("s3", region_name="eu-west-1"), boto3.client("sts", region_name="eu-west-1"),
                    ProcessService(Path({str(tmp_path / "app.log")!r})))
    print(beat.health, sorted(m for m in sys.modules if m == "tapstack" or m.startswith("tapstack.")))
    print(sys.modules["tapstack.contract"].__file__)
"""
    env = {"PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    first, contract = done.stdout.splitlines()
    health, modules = first.split(" ", 1)
    assert health == "none"
    assert modules == "['tapstack', 'tapstack.contract']", "nothing else of tapstack is imported"
    assert contract == str(tmp_path / "tapstack" / "contract.py"), "the bundle's own copy of the contract"


def test_the_agent_entry_point_reports_a_missing_configuration_and_exits_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tapstack.agent", "--config", str(tmp_path / "absent.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"tapstack-agent: cannot read {tmp_path / 'absent.json'}" in done.stderr
