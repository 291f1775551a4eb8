"""`tapstack synth`: run the program offline and show or write the resource graph."""

from __future__ import annotations

import argparse
import time
from collections import Counter

from .args import add_config_args, path


def register(parser: argparse.ArgumentParser) -> None:
    add_config_args(parser)
    parser.add_argument("--out", type=path, help="write the graph as JSON (input of check, diagram)")


def run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from ..graph import short_type
    from .common import check_out, console, print_json, synthesize

    if args.out:
        check_out(args.out, (".json",))
    started = time.perf_counter()
    graph = synthesize(args)
    seconds = time.perf_counter() - started
    if args.out:
        graph.write(args.out)
    counts = graph.counts()
    regions = sorted({region for _, region in counts})
    if args.json:
        print_json(
            {
                "stack": graph.stack,
                "resources": len(graph.aws_resources()),
                "by_type_region": [{"type": t, "region": r, "count": n} for (t, r), n in sorted(counts.items())],
                "outputs": graph.outputs,
                "seconds": round(seconds, 3),
                "graph": str(args.out) if args.out else None,
            }
        )
        return 0
    table = Table(show_footer=True)
    table.add_column("type", "total", no_wrap=True)
    for region in regions:
        total = sum(n for (_, r), n in counts.items() if r == region)
        table.add_column(region, str(total), justify="right")
    by_type: Counter[str] = Counter()
    for (t, _), n in counts.items():
        by_type[t] += n
    for t in sorted(by_type):
        table.add_row(short_type(t), *[str(counts.get((t, r), 0) or "") for r in regions])
    console.print(table)
    console.print(
        f"stack {graph.stack}: {len(graph.aws_resources())} AWS resources in {len(regions)} region(s), "
        f"synthesized in {seconds:.2f}s"
    )
    if args.out:
        console.print(f"graph written to {args.out}")
    return 0
