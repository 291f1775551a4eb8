"""`tapstack up --local --release DIR`: deploy, boot the simulated fleet, release the app, report per region.

What `up --local` without a release reports of the fleet is read from the shared deployment (tests/integration)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tapstack.cli import main
from tests.helpers import EXAMPLES

pytestmark = pytest.mark.integration

TWO_REGION = str(EXAMPLES / "two-region" / "Pulumi.dev.yaml")


def _up(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, object]]:
    code = main(
        ["up", "--local", "--config", TWO_REGION, "--outputs", str(tmp_path / "outputs.json"), "--json", *extra]
    )
    return code, json.loads(capsys.readouterr().out)


def test_up_with_release_leaves_every_instance_healthy_on_the_release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, summary = _up(tmp_path, capsys, "--release", str(EXAMPLES / "app"), "--version", "1.0.0", "--bake", "0")
    assert code == 0
    assert summary["fleet"] == {"us-east-1": "1/1 on 1.0.0, healthy", "eu-west-1": "1/1 on 1.0.0, healthy"}
    release = summary["release"]
    assert isinstance(release, dict)
    assert release["outcome"] == "released"
    assert {r["region"]: r["state"] for r in release["regions"]} == {"us-east-1": "current", "eu-west-1": "current"}


def test_up_with_a_broken_release_fails_and_leaves_no_region_on_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, summary = _up(tmp_path, capsys, "--release", str(EXAMPLES / "app-broken"), "--version", "2.0.0")
    assert code == 1
    release = summary["release"]
    assert isinstance(release, dict)
    assert release["outcome"] != "released"
    assert all("2.0.0, healthy" not in line for line in summary["fleet"].values())  # type: ignore[union-attr]


def test_the_readme_first_command_ends_as_the_readme_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    command = readme.split("```bash\n", 1)[1].splitlines()[0].split(".venv/bin/tapstack ", 1)[1].split()
    shown = readme.split("What the first set-up command ends with:\n\n```\n", 1)[1].split("\n```", 1)[0]
    from tapstack.cli import common

    (tmp_path / "examples").symlink_to(EXAMPLES)
    monkeypatch.chdir(tmp_path)  # the README's relative paths, and its outputs/flat-outputs.json
    monkeypatch.setattr(common.console, "width", common.PIPE_COLUMNS)  # as printed into a pipe
    assert main(command) == 0
    printed = capsys.readouterr().out.rstrip("\n").splitlines()[-len(shown.splitlines()) :]

    def timeless(lines: list[str]) -> list[str]:
        return [re.sub(r"\d+\.\d+s", "N.Ns", line).rstrip() for line in lines]

    assert timeless(printed) == timeless(shown.splitlines())
