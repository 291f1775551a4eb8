"""`tapstack report`: one self-contained HTML page: summary, diagram, guard findings, IAM, emulator checks, fleet."""

from __future__ import annotations

import argparse

from .args import add_config_args, path

TYPE_CHECKING = False  # see args.py: typing stays unloaded when the CLI starts
if TYPE_CHECKING:
    from typing import Any

    from ..emulator.server import Emulator
    from ..report import FleetRegion, LocalResults


def register(parser: argparse.ArgumentParser) -> None:
    add_config_args(parser, graph=True)
    parser.add_argument("--out", type=path, required=True, help="HTML file to write")
    parser.add_argument(
        "--local",
        action="store_true",
        help="also deploy into the embedded emulator and include its outputs, post-deploy checks and fleet",
    )
    parser.add_argument(
        "--suppressions", type=path, help="accepted guard findings, as for `tapstack check --suppressions`"
    )
    parser.add_argument(
        "--against",
        type=path,
        metavar="OLD",
        help="the graph (or stack file) the stack was deployed from: add the Changes section (tapstack diff)",
    )


def local_results(args: argparse.Namespace) -> LocalResults:
    """Deploy into a fresh emulator, run the post-deploy checks and boot the fleet, as `tapstack up --local` does.

    A failed deploy is a result to show, not a crash: the report still tells what the program is.
    """
    # boto3 and moto load only when a local deploy is asked for: every other report stays quick.
    from .. import report
    from ..emulator.deploy import deploy, post_deploy_checks
    from ..emulator.engine import DeployError
    from ..emulator.loopback import EmulatorError
    from ..emulator.server import Emulator
    from .common import settings_from_args

    settings = settings_from_args(args)
    try:
        emulator = Emulator.start()
    except EmulatorError as err:
        return report.LocalResults(error=str(err))
    try:
        deployment = deploy(emulator, settings)
        checks = post_deploy_checks(emulator, deployment.graph)
        fleet, fleet_error = fleet_results(emulator, deployment.graph.outputs)
    except DeployError as err:
        return report.LocalResults(error=str(err))
    finally:
        emulator.stop()
    return report.LocalResults(
        outputs=dict(deployment.graph.outputs),
        checks=[report.CheckResult(c.region, c.name, c.passed, c.detail) for c in checks],
        resources=len(deployment.graph.aws_resources()),
        seconds=deployment.seconds,
        fleet=fleet,
        fleet_error=fleet_error,
    )


def fleet_results(emulator: Emulator, outputs: dict[str, Any]) -> tuple[list[FleetRegion], str | None]:
    """Boot the simulated fleet as `tapstack up --local` does (one agent pass per instance) and read its state.

    A fleet that cannot boot is reported, not raised: the deploy and the checks above it still stand.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from .. import report
    from ..emulator.fleet import Fleet, RegionTarget

    if not RegionTarget.from_outputs(outputs):
        return [], None
    fleet = Fleet.start(emulator, outputs)
    try:
        fleet.converge_all()
        return [report.FleetRegion(r, fleet.summary(r), fleet.problems(r)) for r in fleet.regions], None
    except (BotoCoreError, ClientError, LookupError, OSError) as err:
        return [], f"{type(err).__name__}: {err}"
    finally:
        fleet.stop()


def fleet_problems(local: LocalResults) -> int:
    return sum(len(f.problems) for f in local.fleet)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from rich.markup import escape

    from .. import diagram, report
    from ..diff import diff
    from .common import CommandError, check_out, console, print_json, synthesize, write_file
    from .diff import load_graph

    check_out(args.out, (".html", ".htm"))
    if args.local and args.graph:
        raise CommandError("--local deploys the configured program: use --config/--set, not --graph")
    graph = synthesize(args)
    svg: str | None = None
    svg_error: str | None = None
    try:
        svg = diagram.render(graph, "svg").decode()
    except diagram.GraphvizMissing as err:
        svg_error = str(err)
    deployed = None if args.against is None else load_graph(args.against)
    changes = None if deployed is None else diff(deployed, graph)
    guard = report.guard_results(graph, args.suppressions, against=deployed)
    local = local_results(args) if args.local else None
    page = report.render_html(graph, svg=svg, svg_error=svg_error, guard=guard, local=local, changes=changes)
    write_file(args.out, page.encode())
    failed = bool(
        local and (local.error or local.fleet_error or not all(c.passed for c in local.checks) or fleet_problems(local))
    )
    if args.json:
        print_json(
            {
                "out": str(args.out),
                "stack": graph.stack,
                "diagram": svg is not None,
                "guard_violations": len(guard.violations),
                "changes": None if changes is None else changes.summary(),
                "local": None
                if local is None
                else {
                    "error": local.error,
                    "checks": [asdict(c) for c in local.checks],
                    "fleet": {f.region: {"summary": f.summary, "problems": f.problems} for f in local.fleet},
                    "fleet_error": local.fleet_error,
                },
                "passed": not failed,
            }
        )
    else:
        notes = [] if svg is not None else ["without diagram (Graphviz missing)"]
        if local is not None and local.error:
            notes.append(f"local deploy failed: {local.error}")
        elif local is not None and local.fleet_error:
            notes.append(f"simulated fleet did not boot: {local.fleet_error}")
        elif local is not None and fleet_problems(local):
            notes.append(f"{fleet_problems(local)} instance(s) of the simulated fleet unhealthy")
        suffix = f" ({'; '.join(notes)})" if notes else ""
        console.print(escape(f"report of stack {graph.stack} written to {args.out}{suffix}"), soft_wrap=True)
    return 1 if failed else 0
