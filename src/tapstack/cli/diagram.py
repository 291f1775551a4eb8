"""`tapstack diagram`: the platform as a picture (Graphviz), one cluster per region."""

from __future__ import annotations

import argparse

from .args import add_config_args, path

FORMATS = ("svg", "png", "pdf", "dot")
SUFFIX_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}


def register(parser: argparse.ArgumentParser) -> None:
    add_config_args(parser, graph=True)
    parser.add_argument("--out", type=path, required=True, help="file to write (format from its suffix by default)")
    parser.add_argument(
        "--format", choices=FORMATS, help="svg, png, pdf (Graphviz's dot), or dot (needs no Graphviz); default: --out's"
    )


def _format(args: argparse.Namespace) -> str:
    """The format ``--out``'s suffix names (``--format``, when given, must agree with it); without a suffix,
    ``--format`` or svg."""
    from .common import CommandError, check_out

    suffix = args.out.suffix.lower()
    check_out(args.out, None if not suffix else tuple(SUFFIX_FORMATS))
    if not suffix:
        return str(args.format or "svg")
    named = SUFFIX_FORMATS[suffix]
    if args.format and args.format != named:
        raise CommandError(f"--format {args.format} into --out {args.out}: a .{named} file name; make them agree")
    return named


def run(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from .. import diagram
    from .common import console, print_json, synthesize, write_file

    fmt = _format(args)  # a bad --out is refused before the program runs
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
