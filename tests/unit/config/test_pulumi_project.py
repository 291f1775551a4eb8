"""`pulumi install` / `pulumi up` on a fresh clone installs what the program imports.

Pulumi's pip toolchain (sdk/python/toolchain/pip.go) creates the virtualenv named in Pulumi.yaml and runs
``pip install -r requirements.txt`` from the program directory (``main``), skipping the step silently when the
file is missing; so the file must be there, and must install the tapstack package with its dependencies.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]


def _project() -> dict[str, object]:
    data = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert isinstance(data, dict)
    return data


def test_pulumi_yaml_asks_for_the_pip_toolchain_with_the_repository_virtualenv() -> None:
    runtime = _project()["runtime"]
    assert runtime == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}


def test_the_program_directory_has_the_requirements_file_pip_reads_and_it_installs_this_package() -> None:
    program_dir = ROOT / str(_project().get("main", "."))
    requirements = program_dir / "requirements.txt"
    assert requirements.is_file(), f"pulumi install would install nothing: {requirements} is missing"
    lines = [line.strip() for line in requirements.read_text().splitlines() if line.strip() and line[0] != "#"]
    editable = [line.removeprefix("-e").strip() for line in lines if line.startswith("-e")]
    assert len(editable) == 1, lines
    package_dir = (program_dir / editable[0]).resolve()  # pip runs from the program directory
    assert package_dir == ROOT
    assert tomllib.loads((package_dir / "pyproject.toml").read_text())["project"]["name"] == "tapstack"
