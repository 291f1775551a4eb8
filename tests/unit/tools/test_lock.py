"""requirements.lock and pyproject.toml agree, and what is installed is what the lock says."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[3]
LOCK = ROOT / "requirements.lock"
COMPILE = "uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock"


def _locked() -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", LOCK.read_text(), flags=re.M)
    return {canonicalize_name(name): version for name, version in pins}


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    return [r for r in map(Requirement, texts) if canonicalize_name(r.name) != "tapstack"]


def test_every_dependency_pyproject_declares_is_locked_at_a_version_it_allows() -> None:
    locked = _locked()
    missing = [str(r) for r in _declared() if canonicalize_name(r.name) not in locked]
    outside = [
        f"{r} (locked {locked[canonicalize_name(r.name)]})"
        for r in _declared()
        if canonicalize_name(r.name) in locked and not r.specifier.contains(locked[canonicalize_name(r.name)], True)
    ]
    assert (missing, outside) == ([], []), f"re-lock: {COMPILE}"


def test_the_lock_was_written_by_the_documented_command_for_every_extra() -> None:
    assert f"#    {COMPILE}\n" in LOCK.read_text()
    assert COMPILE in (ROOT / "docs" / "contributing.md").read_text()
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "tapstack[emulator]" in extras["dev"], "the dev extra (and so the lock) must take in the emulator extra"


def test_every_locked_package_is_installed_at_its_locked_version() -> None:
    wrong = {}
    for name, version in _locked().items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != version:
            wrong[name] = f"locked {version}, {installed}"
    assert wrong == {}, "install from the lock: pip install -c requirements.lock -e '.[dev]'"


def test_readme_ci_and_the_pulumi_program_install_from_the_lock() -> None:
    readme_first = (ROOT / "README.md").read_text().split("```bash\n", 1)[1].splitlines()[0]
    assert "pip install -c requirements.lock -e '.[dev]'" in readme_first
    assert "pip install -q -c requirements.lock -e '.[dev]'" in (ROOT / ".ci" / "run").read_text()
    deploy = [line for line in (ROOT / "deploy" / "requirements.txt").read_text().splitlines() if line[:1] not in "#"]
    assert deploy == ["-c ../requirements.lock", "-e .."]


def test_the_pulumi_program_installs_without_the_emulator_and_the_development_tools() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    assert runtime.isdisjoint({"moto", "parliament", "setuptools", "pytest", "uv"})
    emulator = {canonicalize_name(Requirement(r).name) for r in project["optional-dependencies"]["emulator"]}
    assert {"moto", "werkzeug", "cryptography"} <= emulator
