"""`tapstack check`: synthesize (or read) the graph, run every guard rule, report, exit 1 on violations."""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from ..guard.engine import Report, evaluate
from ..guard.model import Context, Severity, Violation
from ..guard.rules import RULES, RULES_BY_ID
from ..guard.suppressions import Suppression, load
from .common import add_config_args, console, print_json, synthesize

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help="run the guard rules TAP001-TAP011 on the graph; exit 1 on violations")
    add_config_args(p, graph=True)
    p.add_argument(
        "--severity",
        choices=[s.value for s in Severity],
        default=Severity.LOW.value,
        help="report and fail on violations at or above this severity (default: low, i.e. all)",
    )
    p.add_argument(
        "--suppressions",
        type=Path,
        help="YAML/JSON file of {rule, resource, reason} entries (see docs/guard-rules.md)",
    )
    p.set_defaults(func=run)


def _load_suppressions(path: Path | None) -> list[Suppression]:
    return [] if path is None else load(path, RULES_BY_ID)


def run(args: argparse.Namespace) -> int:
    threshold = Severity(args.severity)
    suppressions = _load_suppressions(args.suppressions)
    started = time.perf_counter()
    graph = synthesize(args)
    report = evaluate(graph, context=Context.for_graph(graph), suppressions=suppressions)
    seconds = time.perf_counter() - started
    shown = report.at_or_above(threshold)
    below = len(report.violations) - len(shown)
    if args.json:
        print_json(_as_json(graph.stack, len(graph.aws_resources()), report, threshold, shown, below, seconds))
    else:
        _print(report, threshold, shown, below)
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
    counts = Counter(v.rule for v in shown)
    muted = Counter(s.violation.rule for s in report.suppressed)
    summary = Table(title="guard rules", title_justify="left")
    summary.add_column("rule", no_wrap=True)
    summary.add_column("checks")
    summary.add_column("severity", no_wrap=True)
    summary.add_column("violations", justify="right", no_wrap=True)
    summary.add_column("suppressed", justify="right", no_wrap=True)
    for r in report.rules:
        status = f"[{SEVERITY_STYLE[r.severity]}]{counts[r.id]}[/]" if counts[r.id] else "[green]0[/]"
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
            table.add_row(f"[{SEVERITY_STYLE[v.severity]}]{v.severity.value}[/]", escape(v.name), problem)
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
