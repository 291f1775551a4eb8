"""`tapstack synth`: run the program offline and show or write the resource graph."""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from rich.table import Table

from .cli_common import add_config_args, console, print_json, synthesize


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("synth", help="run the program under mocks and print/write the resource graph")
    add_config_args(p)
    p.add_argument("--out", type=Path, help="write the graph as JSON (input of check, diagram)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
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
    table = Table(
        title=f"stack {graph.stack}: {len(graph.aws_resources())} AWS resources in {len(regions)} "
        f"region(s), synthesized in {seconds:.2f}s"
    )
    table.add_column("type")
    for region in regions:
        table.add_column(region, justify="right")
    by_type: Counter[str] = Counter()
    for (t, _), n in counts.items():
        by_type[t] += n
    for t in sorted(by_type):
        table.add_row(t, *[str(counts.get((t, r), 0) or "") for r in regions])
    console.print(table)
    if args.out:
        console.print(f"graph written to {args.out}")
    return 0
