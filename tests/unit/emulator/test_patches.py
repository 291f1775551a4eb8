"""The emulator refuses to start, in one line, when an internal one of its patches replaces has moved."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path
from typing import Any

import pytest

from tapstack.emulator import patches

ROOT = Path(__file__).resolve().parents[3]


def test_every_patch_target_is_where_the_patches_expect_it_in_the_locked_moto() -> None:
    assert [(t.qualname, patches.problem(t)) for t in patches.TARGETS if patches.problem(t)] == []
    patches.verify()


def test_the_installed_moto_is_in_the_range_the_patches_were_verified_against() -> None:
    from packaging.specifiers import SpecifierSet

    assert importlib.metadata.version("moto") in SpecifierSet(patches.MOTO_VERIFIED)


def test_pyproject_caps_moto_at_the_verified_range() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert f'"moto[server]{patches.MOTO_VERIFIED}"' in text


def test_a_removed_target_refuses_with_the_patch_the_version_and_the_verified_range(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.s3.responses import S3Response

    monkeypatch.delattr(S3Response, "get_bucket_replication")
    with pytest.raises(patches.PatchTargetMoved) as refused:
        patches.verify()
    line = str(refused.value)
    assert "\n" not in line
    assert line.startswith("emulator patch moto_fidelity (replication read back): moto ")
    assert importlib.metadata.version("moto") in line
    assert "S3Response.get_bucket_replication is gone" in line
    assert f"verified against moto{patches.MOTO_VERIFIED}" in line


def test_a_target_with_other_parameters_refuses_naming_both_signatures(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.kms import models

    monkeypatch.setattr(models, "generate_private_key", lambda spec, size: None)
    with pytest.raises(patches.PatchTargetMoved, match=r"kms_keys: .* takes \(spec, size\), not \(key_spec\)"):
        patches.verify()


def test_moto_authorizing_s3_by_operation_name_refuses_the_s3_prefix_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto 5.2.6's shape: the action comes from the routed operation (``ListObjectsV2``), not the IAM action."""
    from moto.core.responses import BaseResponse

    def by_operation_name(self: Any) -> str:
        return str(self.normalized_request)

    monkeypatch.setattr(BaseResponse, "_get_action", by_operation_name)
    with pytest.raises(patches.PatchTargetMoved, match=r"^emulator patch moto_fidelity \(s3:prefix\): .* no longer"):
        patches.verify()


def test_a_probe_that_finds_nothing_wrong_lets_the_target_pass() -> None:
    target = patches.Target("probe", "moto.core.responses", "BaseResponse._get_action", ("self",), lambda _: None)
    assert patches.problem(target) is None


def test_without_moto_the_emulator_says_how_to_install_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "moto", None)
    with pytest.raises(patches.EmulatorNotInstalled, match=r"pip install -c requirements.lock -e '\.\[emulator\]'"):
        patches.verify()


def _up_local(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    from tapstack.cli import main

    outputs = tmp_path / "outputs.json"
    code = main(
        ["up", "--local", "--config", str(ROOT / "examples/foundation/Pulumi.dev.yaml"), "--outputs", str(outputs)]
    )
    assert not outputs.exists()
    return code, capsys.readouterr().err.strip().splitlines()


def test_up_local_refuses_in_one_line_when_a_patch_target_moved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.s3.models import FakeBucket

    monkeypatch.delattr(FakeBucket, "get_permission")
    code, lines = _up_local(tmp_path, capsys)
    assert code == 2
    assert len(lines) == 1, lines
    assert "emulator patch moto_fidelity (TLS-only bucket policy): moto" in lines[0]
    assert "FakeBucket.get_permission is gone" in lines[0]


def test_up_local_without_moto_says_how_to_add_the_emulator_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "moto", None)
    code, lines = _up_local(tmp_path, capsys)
    assert code == 2
    assert lines == [
        "error: the embedded emulator needs moto, which this environment lacks: "
        "pip install -c requirements.lock -e '.[emulator]' (a development install, '.[dev]', has it)"
    ]


def test_moto_implementing_describe_instance_refreshes_refuses_tapstacks_own_handler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.autoscaling.responses import AutoScalingResponse

    monkeypatch.setattr(AutoScalingResponse, "describe_instance_refreshes", lambda self: "moto's own", raising=False)
    with pytest.raises(patches.PatchTargetMoved, match=r"instance_refresh .* now implements DescribeInstanceRefreshes"):
        patches.verify()
