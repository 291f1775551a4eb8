"""`tapstack release DIR --version X`: package DIR and roll it out to every region of a deployed stack.

Against real AWS (the default: your credentials, the stack's outputs file) or a kept emulator (``--endpoint``;
its fleet's agents run on their timer there, as on AWS; an emulator without a living fleet gets one in this
process, one agent pass per instance between polls). The work is the
``tapstack.release`` library's; this module parses, shows progress, prints the per-region table or ``--json``.
"""

from __future__ import annotations

import argparse

from .args import add_target_args, path

TYPE_CHECKING = False  # see args.py: typing stays unloaded when the CLI starts
if TYPE_CHECKING:
    from ..release import Event, ReleaseReport

STATE_STYLE = {
    "current": "green",
    "already_current": "green",
    "planned": "cyan",
    "rolled_back": "yellow",
    "migrated": "yellow",
    "not_started": "dim",
    "failed": "red",
    "rollback_failed": "bold red",
}


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", type=path, metavar="DIR", help="the app directory (with tapstack-app.toml)")
    parser.add_argument("--version", required=True, help="the release id, e.g. 1.0.0 (A-Z a-z 0-9 . _ -)")
    add_target_args(parser)
    parser.add_argument("--canary", metavar="REGION", help="the region to release first (default: the primary)")
    parser.add_argument("--parallel", type=int, default=1, metavar="N", help="regions per wave after the canary")
    parser.add_argument(
        "--bake", type=float, default=300.0, metavar="SECONDS", help="watch time per wave, give or take one poll (300)"
    )
    parser.add_argument(
        "--replication-timeout", type=float, default=900.0, metavar="SECONDS", help="replication wait bound (900)"
    )
    parser.add_argument(
        "--converge-timeout", type=float, default=300.0, metavar="SECONDS", help="fleet convergence bound (300)"
    )
    parser.add_argument(
        "--poll", type=float, metavar="SECONDS", help="seconds between checks (default: a tenth of --bake, 0.5 to 5)"
    )
    parser.add_argument(
        "--batches",
        default="AllAtOnce",
        metavar="P,P,..|PRESET",
        help="stages per region: cumulative percentages of its instances (0 = one box), e.g. 0,25,100, or "
        "AllAtOnce (default), HalfAtATime, OneBoxThenAll, OneAtATime",
    )
    parser.add_argument(
        "--min-healthy", default="0", metavar="N|P%", help="instances that keep serving while a stage moves (0)"
    )
    parser.add_argument("--force", action="store_true", help="start even if a stack alarm is already in ALARM")
    parser.add_argument("--no-rollback", action="store_true", help="on failure or Ctrl-C leave migrated regions")
    parser.add_argument("--dry-run", action="store_true", help="print the plan; upload and change nothing")
    parser.add_argument("--json", action="store_true", help="machine-readable report on stdout")


def _table(report: ReleaseReport) -> object:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"release {escape(report.version)} ({escape(report.target)})")
    staged = any(len(r.stages) > 1 or (r.stages and r.stages[0]["name"] != "all") for r in report.regions)
    columns = ("region", "wave", "state", "serving", *(("stages",) if staged else ()), "fleet", "seconds")
    for column in columns:
        table.add_column(column, no_wrap=column != "stages")  # names and versions whole; detail and stages fold
    table.add_column("detail", overflow="fold")
    for r in report.regions:
        style = STATE_STYLE.get(r.state, "")
        wave = "canary" if r.wave == 0 else str(r.wave)
        spent = f"{sum(r.seconds.values()):.1f}" if r.seconds else "-"
        serving = escape(r.serving) if r.serving else "-"
        stages = "\n".join(
            f"{st['name']} {st['percent']:g}% ({len(st['instances'])}): {st['outcome']}" for st in r.stages
        )
        shown = (stages or "-",) if staged else ()
        table.add_row(r.region, wave, f"[{style}]{r.state}[/]", serving, *shown, r.fleet, spent, escape(r.detail))
    return table


def _print(report: ReleaseReport) -> None:
    from rich.markup import escape

    from .common import console, headline

    if report.outcome == "dry_run":
        plan = report.plan
        console.print(f"plan for release {escape(report.version)} ({escape(report.target)}):")
        console.print(f"  upload to {plan['primary_bucket']}:")
        for item in plan["objects"]:
            todo = "upload" if item["key"] in report.uploaded else "already there"
            console.print(f"    {item['key']}  {item['bytes']} bytes  sha256 {item['sha256'][:12]}...  ({todo})")
        for index, wave in enumerate(plan["waves"]):
            console.print(f"  wave {index}{' (canary)' if index == 0 else ''}: {', '.join(wave)}")
        console.print(
            f"  bake {plan['bake_seconds']:g}s per wave, converge within {plan['converge_timeout']:g}s, "
            f"replication within {plan['replication_timeout']:g}s, rollback {'on' if plan['rollback'] else 'off'}"
        )
        batches = plan.get("batches", [100])
        shown = batches if isinstance(batches, str) else ",".join(f"{b:g}" for b in batches)
        console.print(
            f"  stages per region: {shown} (% of its instances, 0 = one box), min healthy {plan['min_healthy']}"
        )
    else:
        console.print(_table(report))
    colour = "green" if report.ok else "red"
    console.print(f"[{colour}]{escape(headline(report.outcome, report.message))}[/]", soft_wrap=True)


class _Progress:
    """A one-line status that follows the release, and a log line per phase change (stderr when --json)."""

    def __init__(self, enabled: bool) -> None:
        from rich.console import Console

        from .common import console

        self.console: Console = console
        self.enabled = enabled
        self.phase: str | None = None
        self.status = console.status("starting", spinner="dots") if enabled else None

    def __call__(self, event: Event) -> None:
        import time

        from rich.markup import escape

        if not self.enabled or self.status is None:
            return
        where = f"{event.region}: " if event.region else ""
        count = f" {event.done}/{event.total}" if event.total else ""
        if event.phase != self.phase:  # printed, not logged: a log line ends in this file's name and line
            self.phase = event.phase
            stamp = time.strftime("%H:%M:%S")
            self.console.print(
                f"[dim]{stamp}[/] [bold]{event.phase}[/] {escape(where + event.message)}", soft_wrap=True
            )
        self.status.update(f"{event.phase}: {escape(where + event.message)}{count}")

    def __enter__(self) -> _Progress:
        if self.status is not None:
            self.status.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            self.status.stop()


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import json
    import time

    from ..release import AwsTarget, Options, StackOutputs, Target, package_dir, release
    from ..release.interrupts import shielded, signals_as_interrupts
    from ..release.plan import parse_batches, poll_for
    from .common import emulator_at, print_json

    options = Options(
        canary=args.canary,
        parallel=args.parallel,
        bake=args.bake,
        replication_timeout=args.replication_timeout,
        converge_timeout=args.converge_timeout,
        poll=poll_for(args.bake) if args.poll is None else args.poll,
        force=args.force,
        rollback=not args.no_rollback,
        dry_run=args.dry_run,
        batches=parse_batches(args.batches),
        min_healthy=args.min_healthy,
    )
    started = time.perf_counter()
    package = package_dir(args.directory, args.version)
    packaged = time.perf_counter() - started
    outputs = StackOutputs.load(args.outputs)
    fleet = None
    target: Target
    # SIGTERM (a cancelled CI job, `timeout`) and SIGHUP (a closed terminal) unwind like Ctrl-C: the release's
    # failure path rolls back and reports, the lease is given back, and the simulated fleet is stopped.
    with signals_as_interrupts():
        try:
            if args.endpoint:
                from ..emulator.fleet import Fleet
                from ..emulator.release_target import EmulatorTarget

                emulator = emulator_at(args.endpoint)
                # A kept emulator's own fleet runs its agents on their timer; a second fleet's would fight them.
                if not args.dry_run and emulator.living_fleet() is None:
                    # moto's IAM switch is process-wide: agents' passes may enforce it only while no wave runs in
                    # parallel.
                    fleet = Fleet.start(emulator, json.loads(args.outputs.read_text()), enforce_iam=args.parallel == 1)
                target = EmulatorTarget(emulator, outputs, fleet)
            else:
                import boto3

                target = AwsTarget(outputs, boto3.session.Session(profile_name=args.profile))
            with _Progress(enabled=not args.json) as progress:
                report = release(target, package, options, on_event=progress)
        finally:
            if fleet is not None:
                with shielded(reraise=False):
                    fleet.stop()
    report.phases = {"package": round(packaged, 3), **report.phases}
    if args.json:
        print_json(dataclasses.asdict(report))
    else:
        _print(report)
    return 0 if report.ok else 1
