"""`tapstack diagram`: the platform as a picture (Graphviz), one cluster per region."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape

from .. import diagram
from .common import add_config_args, console, print_json, synthesize, write_file

SUFFIX_FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    d = sub.add_parser("diagram", help="draw the architecture (regions, VPC tiers, data flows) with Graphviz")
    add_config_args(d, graph=True)
    d.add_argument("--out", type=Path, required=True, help="file to write (format from its suffix by default)")
    d.add_argument("--format", choices=diagram.FORMATS, help="svg (default), png, or dot (needs no Graphviz)")
    d.set_defaults(func=run)


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    return SUFFIX_FORMATS.get(args.out.suffix.lower(), "svg")


def run(args: argparse.Namespace) -> int:
    fmt = _format(args)
    graph = synthesize(args)
    data = diagram.render(graph, fmt)
    write_file(args.out, data)
    built = diagram.build(graph)
    if args.json:
        print_json(
            {
                "out": str(args.out),
                "format": fmt,
                "regions": built.regions,
                "primary": built.primary,
                "nodes": len(built.nodes),
                "edges": len(built.edges),
            }
        )
    else:
        console.print(
            escape(
                f"diagram of stack {graph.stack} ({len(built.regions)} region(s), {len(built.nodes)} boxes, "
                f"{len(built.edges)} edges) written to {args.out} ({fmt})"
            ),
            soft_wrap=True,
        )
    return 0
