"""Arguments every command shares, kept free of heavy imports: `tapstack --help` must not load pulumi or rich."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False  # typing costs a few ms at start; mypy treats this name as true all the same
if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_OUTPUTS = "outputs/flat-outputs.json"
"""argparse runs string defaults through ``type``, so ``--outputs`` is a Path either way."""


def path(text: str) -> Path:
    """``type=`` for file arguments: pathlib loads when a path is parsed, not when `--help` is printed."""
    from pathlib import Path

    return Path(text)


def add_config_args(parser: argparse.ArgumentParser, graph: bool = False) -> None:
    parser.add_argument("--config", type=path, help="stack file (Pulumi.<stack>.yaml); defaults apply without it")
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help='override one config key (repeatable), e.g. --set regions=\'["us-east-1","eu-west-1"]\'',
    )
    if graph:
        parser.add_argument("--graph", type=path, help="read a graph.json written by `tapstack synth --out`")
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")


def add_target_args(parser: argparse.ArgumentParser) -> None:
    """Where a command that acts on a deployed stack finds it: its outputs, and a kept emulator or real AWS."""
    parser.add_argument(
        "--outputs",
        type=path,
        default=DEFAULT_OUTPUTS,
        help=f"stack outputs: `pulumi stack output --json` or the emulator's (default {DEFAULT_OUTPUTS})",
    )
    parser.add_argument(
        "--endpoint", help="a kept emulator, as printed by `tapstack up --local --keep` (default: real AWS)"
    )
    parser.add_argument("--profile", help="AWS profile for real AWS (default: the usual credential chain)")
