"""`tapstack check`: synthesize (or read) the graph, run every guard rule, report, exit 1 on violations."""

from __future__ import annotations

import argparse

from .args import add_config_args, path

TYPE_CHECKING = False  # see args.py: typing stays unloaded when the CLI starts
if TYPE_CHECKING:
    from typing import Any

    from ..guard.engine import Report
    from ..guard.model import Severity, Violation

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}
"""Severity value -> rich style, lowest last; also the choices of --severity (a test keeps it equal to Severity)."""


def register(parser: argparse.ArgumentParser) -> None:
    add_config_args(parser, graph=True)
    parser.add_argument(
        "--severity",
        choices=list(SEVERITY_STYLE),
        default="low",
        help="report and fail on violations at or above this severity (default: low, i.e. all)",
    )
    parser.add_argument(
        "--suppressions",
        type=path,
        help="YAML/JSON file of {rule, resource, reason} entries (see docs/guard-rules.md)",
    )
    parser.add_argument(
        "--against",
        type=path,
        metavar="OLD",
        help="the graph (or stack file) the stack was deployed from: show the changes and run TAP013 on them",
    )
    parser.add_argument(
        "--allow-replace",
        dest="allow_replace",
        action="append",
        default=[],
        metavar="URN",
        help="accept that this resource's data is destroyed by the change (repeatable; needs --against)",
    )


def run(args: argparse.Namespace) -> int:
    import time

    from rich.markup import escape

    from ..diff import diff
    from ..guard.engine import evaluate
    from ..guard.model import Context, Severity
    from ..guard.rules import RULES, RULES_BY_ID
    from ..guard.suppressions import load
    from .common import CommandError, console, print_json, synthesize
    from .diff import load_graph, print_changes

    threshold = Severity(args.severity)
    suppressions = [] if args.suppressions is None else load(args.suppressions, RULES_BY_ID)
    if args.allow_replace and args.against is None:
        raise CommandError("--allow-replace accepts a change to a deployed stack: give that stack with --against")
    started = time.perf_counter()
    graph = synthesize(args)
    deployed = None if args.against is None else load_graph(args.against)
    context = Context.for_graph(graph, against=deployed, allow_replace=frozenset(args.allow_replace))
    report = evaluate(graph, context=context, suppressions=suppressions)
    changes = None if deployed is None else diff(deployed, graph)
    seconds = time.perf_counter() - started
    shown = report.at_or_above(threshold)
    below = len(report.violations) - len(shown)
    unused = [] if changes is None else sorted(set(args.allow_replace) - {c.urn for c in changes.destructive})
    if args.json:
        data = _as_json(graph.stack, len(graph.aws_resources()), report, threshold, shown, below, seconds)
        if changes is not None:
            data["changes"] = changes.to_dict()
            data["unused_allow_replace"] = unused
        print_json(data)
    else:
        if changes is not None:
            print_changes(changes)
        _print(report, threshold, shown, below)
        for urn in unused:
            console.print(f"[yellow]unused --allow-replace:[/] {escape(urn)} is not destroyed by this change")
        verdict = "[bold red]FAIL[/]" if shown else "[bold green]PASS[/]"
        console.print(
            f"{verdict} stack {graph.stack}: {len(shown)} violation(s) at or above {threshold.value}, "
            f"{len(report.suppressed)} suppressed, {len(RULES)} rules over {len(graph.aws_resources())} AWS "
            f"resources in {seconds:.2f}s"
        )
    return 1 if shown else 0


def _as_json(
    stack: str,
    resources: int,
    report: Report,
    threshold: Severity,
    shown: list[Violation],
    below: int,
    seconds: float,
) -> dict[str, Any]:
    from collections import Counter

    counts = Counter(v.rule for v in shown)
    muted = Counter(s.violation.rule for s in report.suppressed)
    return {
        "stack": stack,
        "passed": not shown,
        "threshold": threshold.value,
        "resources": resources,
        "rules": [
            {
                "id": r.id,
                "title": r.title,
                "severity": r.severity.value,
                "controls": list(r.controls),
                "violations": counts[r.id],
                "suppressed": muted[r.id],
            }
            for r in report.rules
        ],
        "violations": [v.to_dict() for v in shown],
        "below_threshold": below,
        "suppressed": [{**s.violation.to_dict(), "reason": s.suppression.reason} for s in report.suppressed],
        "unused_suppressions": [s.to_dict() for s in report.unused],
        "seconds": round(seconds, 3),
    }


def _print(report: Report, threshold: Severity, shown: list[Violation], below: int) -> None:
    from collections import Counter

    from rich.markup import escape
    from rich.table import Table

    from .common import console

    counts = Counter(v.rule for v in shown)
    muted = Counter(s.violation.rule for s in report.suppressed)
    summary = Table(title="guard rules", title_justify="left")
    summary.add_column("rule", no_wrap=True)
    summary.add_column("checks")
    summary.add_column("severity", no_wrap=True)
    summary.add_column("violations", justify="right", no_wrap=True)
    summary.add_column("suppressed", justify="right", no_wrap=True)
    for r in report.rules:
        status = f"[{SEVERITY_STYLE[r.severity.value]}]{counts[r.id]}[/]" if counts[r.id] else "[green]0[/]"
        summary.add_row(r.id, r.title, r.severity.value, status, str(muted[r.id] or ""))
    console.print(summary)
    for r in report.rules:
        group = [v for v in shown if v.rule == r.id]
        if not group:
            continue
        table = Table(
            title=f"{r.id} {r.title}: {len(group)} violation(s)",
            title_justify="left",
            caption=f"fix: {escape(r.remediation)}",
            caption_justify="left",
        )
        table.add_column("severity", no_wrap=True)
        table.add_column("resource", overflow="fold")
        table.add_column("problem", overflow="fold", ratio=1)
        for v in group:
            problem = escape(v.message)
            if v.remediation != r.remediation:
                problem += f"\n[dim]fix: {escape(v.remediation)}[/]"
            table.add_row(f"[{SEVERITY_STYLE[v.severity.value]}]{v.severity.value}[/]", escape(v.name), problem)
        console.print(table)
    if below:
        console.print(f"[dim]{below} violation(s) below {threshold.value} not shown (use --severity low)[/]")
    if report.suppressed:
        table = Table(title="suppressed (with their reasons)", title_justify="left")
        for column in ("rule", "resource", "finding", "reason"):
            table.add_column(column, overflow="fold")
        for s in report.suppressed:
            table.add_row(
                s.violation.rule,
                escape(s.violation.name),
                escape(s.violation.message),
                escape(s.suppression.reason),
            )
        console.print(table)
    for stale in report.unused:
        console.print(
            f"[yellow]unused suppression:[/] {stale.rule} on {escape(stale.resource)} matches no violation; remove it"
        )
