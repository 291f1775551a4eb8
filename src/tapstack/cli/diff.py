"""`tapstack diff OLD NEW`: what deploying NEW over a stack deployed from OLD creates, updates, replaces, deletes.

OLD and NEW are graphs written by `tapstack synth --out`, or stack files synthesized on the spot. Exit 1 when a
stateful resource (bucket, KMS key, secret, parameter, log group, queue) is replaced or deleted, else 0.
`check`, `report` and `up` take ``--against OLD`` and read the same analysis through ``load_graph`` and
``print_changes`` here.
"""

from __future__ import annotations

import argparse

from .args import path

TYPE_CHECKING = False  # see args.py: typing stays unloaded when the CLI starts
if TYPE_CHECKING:
    from pathlib import Path

    from ..diff import Change, Diff
    from ..graph import Graph

STACK_FILE_SUFFIXES = (".yaml", ".yml")
SYMBOLS = {"create": "[green]+[/]", "update": "[yellow]~[/]", "replace": "[magenta]+-[/]", "delete": "[red]-[/]"}
"""Action -> its mark, as `pulumi preview` draws them."""


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", type=path, metavar="OLD", help="the deployed stack: a graph.json, or its stack file")
    parser.add_argument("new", type=path, metavar="NEW", help="the changed stack: a graph.json, or its stack file")
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")


def load_graph(source: Path) -> Graph:
    """A graph file as `tapstack synth --out` writes it, or a stack file (``.yaml``) synthesized now."""
    from ..errors import TapStackError
    from ..graph import Graph

    if not source.is_file():
        raise TapStackError(f"{source}: no such file (a graph from `tapstack synth --out`, or a stack file)")
    if source.suffix.lower() in STACK_FILE_SUFFIXES:
        from .. import stackfile
        from ..program import main as program
        from ..synth import synthesize

        settings = stackfile.with_local_secret(stackfile.load(source, []))
        return synthesize(program, settings.values, stack=settings.stack, secret_keys=settings.secret_keys)
    try:
        return Graph.read(source)
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError) as err:
        raise TapStackError(f"{source}: not a TapStack graph ({err})") from None


def summary_line(result: Diff) -> str:
    s = result.summary()
    destructive = f" ({s['destructive']} destructive)" if s["destructive"] else ""
    return (
        f"{s['create']} to create, {s['update']} to update in place, {s['replace']} to replace{destructive}, "
        f"{s['delete']} to delete, {s['unchanged']} unchanged"
    )


def _line(change: Change) -> str:
    from rich.markup import escape

    from ..graph import short_type

    action = change.action.value
    text = f"  {SYMBOLS[action]} {action:<7} {escape(short_type(change.type))} {escape(change.name)}"
    if change.replaces_because:
        text += f"  [magenta]{escape(', '.join(change.replaces_because))} forces replacement[/]"
        rest = [p for p in change.properties if p not in change.replaces_because]
        if rest:
            text += f"  [dim]also {escape(', '.join(rest))}[/]"
    elif change.properties:
        text += f"  [dim]{escape(', '.join(change.properties))}[/]"
    if change.destructive:
        text += "  [bold red]DESTRUCTIVE[/]"
    return text


def print_changes(result: Diff) -> None:
    """The changes grouped by region, then resource, and a summary line ("no changes" when there are none)."""
    from itertools import groupby

    from rich.markup import escape

    from .common import console

    if not result.changes:
        console.print(f"no changes ({result.unchanged} resources as deployed)")
        return
    for region, changes in groupby(result.changes, key=lambda c: c.region or "global"):
        console.print(f"[bold]{escape(region)}[/]")
        for change in changes:
            console.print(_line(change), soft_wrap=True)
            for note in change.notes:
                console.print(f"      [dim]-[/] {escape(note)}", soft_wrap=True)
    verdict = "[bold red]destructive[/]" if result.destructive else "[green]no data destroyed[/]"
    console.print(f"{verdict}: {summary_line(result)}", soft_wrap=True)


def run(args: argparse.Namespace) -> int:
    from ..diff import diff

    result = diff(load_graph(args.old), load_graph(args.new))
    if args.json:
        # Written without the console (common.print_json's format): a CI job asking for JSON does not load rich.
        import json
        import sys

        sys.stdout.write(json.dumps(result.to_dict(), indent=2, default=str) + "\n")
    else:
        print_changes(result)
    return 1 if result.destructive else 0
