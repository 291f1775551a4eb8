"""`tapstack release` as a user runs it: exit codes, the per-region table, --json, --dry-run, one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest

from tapstack.cli import main
from tests.release.faults import Faults
from tests.release.helpers import REGIONS, World, write_app


@pytest.fixture
def cli(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI's AWS session is the world's (Invoke routed to the handler) and its clock the world's."""
    monkeypatch.setattr(boto3.session, "Session", lambda **_: world.session)
    monkeypatch.setattr("tapstack.release.orchestrate.SystemClock", lambda: world.clock)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(world.outputs))
    return outputs


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["release", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_release_json_reports_every_region_current_and_exits_zero(
    world: World, cli: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = write_app(tmp_path / "app")
    code, out, _ = _run(capsys, str(app), "--version", "1.0.0", "--outputs", str(cli), "--bake", "0", "--json")
    report: dict[str, Any] = json.loads(out)
    assert code == 0
    assert report["outcome"] == "released"
    assert [(r["region"], r["state"]) for r in report["regions"]] == [(r, "current") for r in REGIONS]
    assert set(report["phases"]) >= {"package", "upload", "replication", "wave 0"}


def test_a_failed_release_prints_the_table_and_exits_one(
    world: World, cli: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.broken.add("1.0.0")
    app = write_app(tmp_path / "app")
    code, out, _ = _run(capsys, str(app), "--version", "1.0.0", "--outputs", str(cli), "--bake", "0")
    assert code == 1
    assert "release 1.0.0 (AWS)" in out
    assert "us-east-1" in out and "not_started" in out
    assert "failed:" in out and "fleet unhealthy in us-east-1" in out


def test_dry_run_prints_the_plan_and_exits_zero(
    world: World, cli: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = write_app(tmp_path / "app")
    code, out, _ = _run(capsys, str(app), "--version", "1.0.0", "--outputs", str(cli), "--dry-run", "--parallel", "2")
    assert code == 0
    assert "artifacts/1.0.0/app.tar.gz" in out and "(upload)" in out
    assert "wave 0 (canary): us-east-1" in out and "wave 1: us-west-2, eu-west-1" in out
    assert world.invocations == []


@pytest.mark.parametrize(
    ("make", "args", "error"),
    [
        (lambda d: d, ["--version", "1.0.0"], "does not exist"),
        (lambda d: write_app(d), ["--version", "bad/version"], "is not a valid release id"),
        (lambda d: write_app(d), ["--version", "1.0.0", "--parallel", "0"], "--parallel 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Any, args: list[str], error: str
) -> None:
    app = make(tmp_path / "app")
    code, _, err = _run(capsys, str(app), *args, "--outputs", str(tmp_path / "none.json"))
    assert code == 2
    assert error in err and err.count("\n") == 1


def test_an_outputs_file_missing_keys_names_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps({"primary_region": "us-east-1", "regions": ["us-east-1"], "use1_deployment_bucket": "b"})
    )
    code, _, err = _run(capsys, str(write_app(tmp_path / "app")), "--version", "1.0.0", "--outputs", str(outputs))
    assert code == 2
    assert "lacks use1_function_name, use1_alarm_topic_arn" in err


def test_a_missing_outputs_file_says_how_to_write_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(
        capsys, str(write_app(tmp_path / "app")), "--version", "1.0.0", "--outputs", str(tmp_path / "x.json")
    )
    assert code == 2
    assert "pulumi stack output --json" in err


def test_sigterm_mid_release_rolls_back_prints_what_each_region_serves_and_exits_one(
    world: World, cli: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faults = Faults(world.session)
    faults.arm_when(lambda p: p.operation == "DescribeAlarms" and world.release_of("us-east-1") == "1.0.0", "SIGTERM")
    app = write_app(tmp_path / "app")
    code, out, _ = _run(capsys, str(app), "--version", "1.0.0", "--outputs", str(cli), "--bake", "0")
    assert faults.hit
    assert code == 1
    assert "serving" in out and "interrupted (SIGTERM)" in out
    assert "ROLLBACK FAILED in us-east-1" in out
    assert world.release_of("us-east-1") == "1.0.0"


@pytest.mark.parametrize(
    ("doc", "error"),
    [
        ({"primary_region": "us-east-1", "regions": ["us-east-1", "us-east-1"]}, "names us-east-1 more than once"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_an_outputs_file_naming_a_region_twice_or_nested_too_deeply_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], doc: object, error: str
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    code, _, err = _run(capsys, str(write_app(tmp_path / "app")), "--version", "1.0.0", "--outputs", str(outputs))
    assert code == 2
    assert error in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("flag", "value", "error"),
    [
        ("--bake", "nan", "--bake nan: must be a finite number of seconds"),
        ("--converge-timeout", "nan", "--converge-timeout nan: must be a finite number of seconds"),
        ("--replication-timeout", "inf", "--replication-timeout inf: must be a finite number of seconds"),
        ("--poll", "nan", "--poll nan: must be a finite number of seconds"),
        ("--converge-timeout", "0", "--converge-timeout 0.0: must be above 0 seconds"),
        ("--bake", "-1", "--bake -1.0: must not be negative"),
    ],
)
def test_a_timing_flag_that_is_not_a_finite_positive_number_is_one_line_and_exit_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, error: str
) -> None:
    app = write_app(tmp_path / "app")
    code, _, err = _run(capsys, str(app), "--version", "1.0.0", flag, value, "--outputs", str(tmp_path / "x.json"))
    assert code == 2
    assert error in err and err.count("\n") == 1


def test_a_nul_in_the_app_files_start_is_refused_before_anything_is_uploaded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = write_app(tmp_path / "app")
    (app / "tapstack-app.toml").write_text(
        'start = ["python3", "app\\u0000.py"]\n\n[health]\npath = "/healthz"\nport = 8080\n'
    )
    code, _, err = _run(capsys, str(app), "--version", "1.0.0", "--outputs", str(tmp_path / "x.json"))
    assert code == 2
    assert "must not contain a NUL character" in err and err.count("\n") == 1


def test_the_printed_release_names_the_version_once_and_no_source_line(
    world: World, cli: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = write_app(tmp_path / "app")
    code, out, _ = _run(capsys, str(app), "--version", "1.0.0", "--outputs", str(cli), "--bake", "0")
    assert code == 0
    lines = out.rstrip("\n").splitlines()
    assert lines[-1].startswith("release 1.0.0 is current and healthy in"), lines[-1]
    assert "released:" not in out
    assert out.count("2/2 on 1.0.0") == len(REGIONS), "the fleet column names the release each region serves"
    assert not [line for line in lines if re.search(r"\.py:\d+\s*$", line)], "progress lines end in a source line"
    assert max(len(line) for line in lines) > 80, "a table written to a pipe is not squeezed into 80 columns"


def test_a_dry_run_says_dry_run_once(
    world: World, cli: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = write_app(tmp_path / "app")
    code, out, _ = _run(capsys, str(app), "--version", "1.0.0", "--outputs", str(cli), "--dry-run")
    assert code == 0
    last = out.rstrip("\n").splitlines()[-1]
    assert last.startswith("dry run: would upload") and "dry_run" not in out


def test_release_batches_report_each_regions_stages_with_their_instances_in_json(
    world: World, cli: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = write_app(tmp_path / "app")
    assert _run(capsys, str(app), "--version", "1.0.0", "--outputs", str(cli), "--bake", "0", "--json")[0] == 0
    app = write_app(tmp_path / "app2", "print('two')\n")
    args = ("--version", "2.0.0", "--outputs", str(cli), "--bake", "0", "--batches", "OneBoxThenAll", "--json")
    code, out, _ = _run(capsys, str(app), *args)
    report: dict[str, Any] = json.loads(out)
    assert code == 0, report["message"]
    for region in report["regions"]:
        stages = [(s["name"], s["percent"], len(s["instances"]), s["outcome"]) for s in region["stages"]]
        assert stages == [("one_box", 50.0, 1, "passed"), ("all", 100, 2, "passed")], region["region"]


def test_a_batch_that_breaks_min_healthy_is_one_line_and_exit_two(
    world: World, cli: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = write_app(tmp_path / "app")
    assert _run(capsys, str(app), "--version", "1.0.0", "--outputs", str(cli), "--bake", "0")[0] == 0
    args = ("--version", "2.0.0", "--outputs", str(cli), "--batches", "HalfAtATime", "--min-healthy", "2")
    code, _, err = _run(capsys, str(write_app(tmp_path / "app2", "print('two')\n")), *args)
    assert code == 2 and "--min-healthy 2: a stage of 1 of 2 instances would leave 1 serving" in err
