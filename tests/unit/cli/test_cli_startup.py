"""What `tapstack` loads before a command runs: parsing and --help must not pay for pulumi, boto3, moto or rich."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tapstack import cli, diagram
from tapstack.cli import check
from tapstack.cli import diagram as diagram_command
from tapstack.graph import Graph, Resource
from tapstack.guard.model import Severity

HEAVY = ("pulumi", "pulumi_aws", "boto3", "botocore", "moto", "rich", "yaml", "graphviz")


def _modules_loaded_by(argv: list[str]) -> set[str]:
    """Top-level packages imported by the CLI for ``argv`` (parsing only: --help and argument errors exit there)."""
    code = (
        "import sys\nfrom tapstack.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "print('MODULES', *sorted({m.split('.')[0] for m in sys.modules}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    line = next(line for line in done.stdout.splitlines() if line.startswith("MODULES "))
    return set(line.split()[1:])


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["synth", "--help"],
        ["check", "--bogus"],
        ["diff", "--help"],
        ["up", "--help"],
        ["report", "--help"],
        ["release", "-h"],
    ],
)
def test_parsing_and_help_load_none_of_the_heavy_libraries(argv: list[str]) -> None:
    assert _modules_loaded_by(argv) & set(HEAVY) == set()


MINIMAL_ARGS = {
    "synth": [],
    "check": [],
    "diff": ["old.json", "new.json"],
    "up": ["--local"],
    "invoke": ["validate"],
    "diagram": ["--out", "x.svg"],
    "report": ["--out", "x.html"],
    "release": ["examples/app", "--version", "1.0.0"],
}
"""The least each command accepts; a command added to cli.COMMANDS without an entry here fails below."""


def test_checking_a_written_graph_loads_no_pulumi_sdk(tmp_path: Path) -> None:
    graph = tmp_path / "graph.json"
    Graph("dev", [Resource("urn:b", "aws:s3/bucket:Bucket", "b", inputs={"bucket": "b"})]).write(graph)
    assert _modules_loaded_by(["check", "--graph", str(graph)]) & {"pulumi", "pulumi_aws", "parliament"} == set()


def test_diffing_two_written_graphs_loads_no_pulumi_sdk_and_for_json_not_even_the_console(tmp_path: Path) -> None:
    graph = tmp_path / "graph.json"
    Graph("dev", [Resource("urn:b", "aws:s3/bucket:Bucket", "b", inputs={"bucket": "b"})]).write(graph)
    assert _modules_loaded_by(["diff", str(graph), str(graph)]) & {"pulumi", "pulumi_aws", "parliament"} == set()
    assert _modules_loaded_by(["diff", str(graph), str(graph), "--json"]) & {"pulumi", "rich"} == set()


def test_every_listed_command_parses_to_its_own_module_run() -> None:
    assert set(MINIMAL_ARGS) == set(cli.COMMANDS)
    for name, extra in MINIMAL_ARGS.items():
        args = cli.build_parser([name]).parse_args([name, *extra])
        assert args.func.__module__ == f"tapstack.cli.{name}"


def test_check_offers_exactly_the_guard_severities() -> None:
    assert set(check.SEVERITY_STYLE) == {s.value for s in Severity}


def test_diagram_offers_exactly_the_formats_the_library_renders() -> None:
    assert diagram_command.FORMATS == diagram.FORMATS


def test_version_prints_the_installed_version_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"tapstack {version('tapstack')}\n"
