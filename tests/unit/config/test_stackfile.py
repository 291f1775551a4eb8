"""Stack files and --set as the CLI reads them: what is accepted, and how defensive reading stays cheap."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tapstack import stackfile
from tapstack.stackfile import StackFileError
from tests.helpers import EXAMPLES


def write(tmp_path: Path, text: bytes, name: str = "Pulumi.qa.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text)
    return path


def test_every_example_stack_file_still_loads() -> None:
    for path in sorted(EXAMPLES.glob("*/Pulumi.*.yaml")):
        settings = stackfile.load(path)
        assert settings.values["tapstack:regions"], path
        assert settings.stack == "dev"


def test_stack_name_comes_from_the_file_name_and_values_are_qualified(tmp_path: Path) -> None:
    settings = stackfile.load(write(tmp_path, b"config:\n  azCount: 3\n  aws:region: eu-west-1\n"))
    assert settings.stack == "qa"
    assert settings.values == {"tapstack:azCount": 3, "aws:region": "eu-west-1"}


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    settings = stackfile.load(write(tmp_path, "\ufeffconfig:\n  tapstack:project: café\n".encode()))
    assert settings.values == {"tapstack:project": "café"}


def test_set_parses_json_and_wins_over_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, b"config:\n  tapstack:azCount: 2\n")
    settings = stackfile.load(path, ["azCount=3", 'regions=["us-east-1","eu-west-1"]', "project=my-app"])
    assert settings.values == {
        "tapstack:azCount": 3,
        "tapstack:regions": ["us-east-1", "eu-west-1"],
        "tapstack:project": "my-app",
    }


def test_the_same_key_in_two_different_maps_is_not_a_duplicate(tmp_path: Path) -> None:
    text = b"config:\n  tapstack:tags:\n    Owner: a\n  tapstack:features:\n    compute: true\n    migration: false\n"
    settings = stackfile.load(write(tmp_path, text))
    assert settings.values["tapstack:tags"] == {"Owner": "a"}


def test_an_alias_without_its_anchor_is_a_one_line_yaml_error(tmp_path: Path) -> None:
    with pytest.raises(StackFileError, match=r"Pulumi.qa.yaml: line 2, column 21: .*alias"):
        stackfile.load(write(tmp_path, b"config:\n  tapstack:project: *nowhere\n"))


def test_a_billion_laughs_document_is_refused_in_milliseconds(tmp_path: Path) -> None:
    """PyYAML keeps aliases as shared references, but handing the value to the Pulumi runtime (JSON) expands
    it to 10**8 strings: seconds and gigabytes before the fix."""
    lines = ['l0: &l0 ["lol"]'] + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = write(tmp_path, ("\n".join(lines) + "\nconfig: {}\n").encode())
    started = time.perf_counter()
    with pytest.raises(StackFileError, match="anchors and aliases are not allowed"):
        stackfile.load(path)
    assert time.perf_counter() - started < 0.2


def test_local_runs_take_the_token_from_the_environment_and_mark_it_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPSTACK_MIGRATION_TOKEN", "from-env-0123456789")
    settings = stackfile.with_local_secret(stackfile.load(None))
    assert settings.values == {"tapstack:migrationToken": "from-env-0123456789"}
    assert settings.secret_keys == ["tapstack:migrationToken"]


def test_a_key_with_another_namespace_named_like_the_token_is_not_ours(tmp_path: Path) -> None:
    settings = stackfile.load(None, ["myteam:migrationToken=abc"])
    assert settings.values == {"myteam:migrationToken": "abc"}
