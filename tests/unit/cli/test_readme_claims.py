"""What README says every command accepts is what each command's parser accepts."""

from __future__ import annotations

import re

from tapstack import cli
from tests.helpers import ROOT


def _options(command: str) -> set[str]:
    parser = cli.build_parser([command])
    sub = next(a for a in parser._actions if a.dest == "command")
    return {o for action in sub.choices[command]._actions for o in action.option_strings}  # type: ignore[attr-defined]


def test_readme_names_exactly_the_commands_that_take_config_and_set() -> None:
    readme = " ".join((ROOT / "README.md").read_text().split())
    claim = re.search(r"The commands that build the program \(([^)]*)\) take `--config FILE`", readme)
    assert claim, "README no longer says which commands take --config/--set"
    named = set(re.findall(r"`(\w+)`", claim.group(1)))
    assert named == {c for c in cli.COMMANDS if {"--config", "--set"} <= _options(c)}


def test_readme_names_the_one_command_without_json() -> None:
    readme = " ".join((ROOT / "README.md").read_text().split())
    claim = re.search(r"Every command but `(\w+)` \(whose answer is always JSON\) takes `--json`", readme)
    assert claim, "README no longer says which command has no --json"
    assert {c for c in cli.COMMANDS if "--json" not in _options(c)} == {claim.group(1)}
