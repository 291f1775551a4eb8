"""`tapstack up --local`: deploy the program into the embedded emulator, write its outputs, check it.

boto3 and moto are imported when a command runs, not when the CLI starts: every other command stays quick.
"""

from __future__ import annotations

import argparse

from .args import DEFAULT_OUTPUTS, add_config_args, path

TYPE_CHECKING = False  # see args.py: typing stays unloaded when the CLI starts
if TYPE_CHECKING:
    from typing import Any

    from rich.table import Table

    from ..emulator.deploy import Check
    from ..emulator.engine import Event
    from ..emulator.fleet import Fleet
    from ..emulator.server import Emulator
    from ..release import ReleaseReport


LOCAL_BAKE_SECONDS = 5.0
"""A local demo watches each wave for seconds, not the five minutes a real rollout waits for alarms."""
WAKE_SECONDS = 0.2
"""How often a kept emulator's main thread wakes while serving, so that a signal another thread took is answered."""


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--local", action="store_true", help="deploy into moto on 127.0.0.1 (the only mode here)")
    add_config_args(parser)
    parser.add_argument("--endpoint", help="deploy into an emulator already serving on loopback instead of a new one")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the emulator and its fleet running after the deploy (Ctrl-C stops both)",
    )
    parser.add_argument(
        "--outputs",
        type=path,
        default=DEFAULT_OUTPUTS,
        help=f"stack outputs file (default {DEFAULT_OUTPUTS})",
    )
    parser.add_argument("--show-secrets", action="store_true", help="write secret outputs in clear, not '[secret]'")
    parser.add_argument(
        "--against",
        type=path,
        metavar="OLD",
        help="first print what deploying over the stack deployed from OLD (graph or stack file) would change",
    )
    parser.add_argument(
        "--replication-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="hold each S3 replication back this long in a new emulator (to try a release's replication timeout)",
    )
    parser.add_argument(
        "--release",
        type=path,
        metavar="DIR",
        help="then release this app directory (with tapstack-app.toml) to every region, as `tapstack release` does",
    )
    parser.add_argument(
        "--version",
        help="release id for --release (default: local-<first 12 hex digits of the app archive's sha256>)",
    )
    parser.add_argument(
        "--bake",
        type=float,
        default=LOCAL_BAKE_SECONDS,
        metavar="SECONDS",
        help=f"watch time per wave for --release (default {LOCAL_BAKE_SECONDS:g}: `tapstack release` bakes 300)",
    )


class _Progress:
    """Resources done / total and the resource being created; fed from the runtime's worker threads."""

    def __init__(self, total: int, enabled: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        from rich.table import Column

        from .common import console

        self._bar = Progress(
            TextColumn("[bold]deploying[/]"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
            console=console,
            transient=True,
            expand=True,
            disable=not enabled,
        )
        self._task = self._bar.add_task("", total=total)

    def __enter__(self) -> _Progress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def __call__(self, event: Event) -> None:
        if not event.type.startswith("aws:"):
            return
        from rich.markup import escape

        from ..graph import short_type

        if event.kind == "start":  # rich's Progress is thread-safe
            self._bar.update(self._task, description=escape(f"{event.name} ({short_type(event.type)}, {event.region})"))
        else:
            self._bar.advance(self._task)


def _summary_table(
    per_region: dict[str, int], checks: list[Check], fleet: dict[str, str] | None = None, order: list[str] | None = None
) -> Table:
    """One row per region, in the stack's order (the primary first), then any region the stack does not list."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="local deploy")
    table.add_column("region")
    table.add_column("resources", justify="right")
    table.add_column("post-deploy checks")
    if fleet is not None:
        table.add_column("fleet")
    ranked = {region: i for i, region in enumerate(order or [])}
    for region, count in sorted(per_region.items(), key=lambda item: (ranked.get(item[0], len(ranked)), item[0])):
        cells = [
            f"[green]{c.name}: passed[/] ({escape(c.detail)})"
            if c.passed
            else f"[red]{c.name}: FAILED[/] ({escape(c.detail)})"
            for c in checks
            if c.region == region
        ]
        row = [region, str(count), "\n".join(cells) or "-"]
        if fleet is not None:
            row.append(escape(fleet.get(region, "no compute")))
        table.add_row(*row)
    return table


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import time

    from rich.markup import escape

    from .common import CommandError, console, emulator_at, err_console, headline, print_json, settings_from_args

    if not args.local:
        raise CommandError(
            "real deployments use the Pulumi CLI: `pulumi up` from the repository root (see README); "
            "`tapstack up --local` deploys into the embedded emulator"
        )
    from ..emulator.deploy import deploy, post_deploy_checks, write_outputs
    from ..emulator.engine import DeployError
    from ..emulator.signals import terminate_as_interrupt

    settings = settings_from_args(args)
    # Synthesize first: a bad config fails before the emulator starts, and the progress bar gets its total.
    from ..program import main as program
    from ..synth import synthesize

    started = time.perf_counter()
    planned = synthesize(program, settings.values, stack=settings.stack, secret_keys=list(settings.secret_keys))
    synth_seconds = time.perf_counter() - started
    changes = None
    if args.against is not None:
        from ..diff import diff
        from .diff import load_graph, print_changes

        changes = diff(load_graph(args.against), planned)
        if not args.json:
            print_changes(changes)
    # SIGTERM unwinds like Ctrl-C: the emulator stops and its TLS key is removed either way.
    with terminate_as_interrupt():
        emulator = emulator_at(args.endpoint, args.replication_delay)
        running: Fleet | None = None
        try:
            try:
                with _Progress(len(planned.aws_resources()), enabled=not args.json) as progress:
                    deployment = deploy(emulator, settings, progress, reveal_secrets=args.show_secrets)
            except DeployError as err:
                err_console.print(f"[bold red]deploy failed:[/] {escape(str(err))}", soft_wrap=True)
                if args.keep:  # what did get created stays inspectable
                    _serve(emulator)
                return 1
            write_outputs(deployment.graph.outputs, args.outputs)
            started = time.perf_counter()
            checks = post_deploy_checks(emulator, deployment.graph, deployment.clients)
            check_seconds = time.perf_counter() - started
            started = time.perf_counter()
            keep_fleet = args.keep and emulator.owned
            fleet, released, running = _run_fleet(args, emulator, deployment.graph.outputs, keep_fleet)
            fleet_seconds = time.perf_counter() - started
            ok = all(c.passed for c in checks) and (released is None or released.ok)
            per_region = dict(deployment.per_region())
            if args.json:
                print_json(
                    {
                        "stack": settings.stack,
                        "endpoint": emulator.url,
                        "resources": sum(per_region.values()),
                        "resources_per_region": per_region,
                        "checks": [dataclasses.asdict(c) for c in checks],
                        "fleet": fleet,
                        "release": None if released is None else dataclasses.asdict(released),
                        "passed": ok,
                        "changes": None if changes is None else changes.to_dict(),
                        "outputs_file": str(args.outputs),
                        "seconds": {
                            "synth": round(synth_seconds, 3),
                            "deploy": round(deployment.seconds, 3),
                            "checks": round(check_seconds, 3),
                            "fleet": round(fleet_seconds, 3),
                        },
                    }
                )
            else:
                order = [str(r) for r in deployment.graph.outputs.get("regions") or []]
                console.print(_summary_table(per_region, checks, fleet, order))
                passed, total = sum(c.passed for c in checks), sum(per_region.values())
                console.print(
                    f"stack {settings.stack}: {total} resources in {len(per_region)} region(s) deployed in "
                    f"{deployment.seconds:.1f}s; checks {passed}/{len(checks)} passed in {check_seconds:.1f}s; "
                    f"outputs written to {args.outputs}",
                    soft_wrap=True,
                )
                if released is not None:
                    colour = "green" if released.ok else "red"
                    line = headline(released.outcome, released.message)
                    console.print(f"[{colour}]{escape(line)}[/]", soft_wrap=True)
            if args.keep:
                _serve(emulator, running)
            return 0 if ok else 1
        finally:
            if running is not None:  # every app process, whatever ended the run (Ctrl-C, an error)
                running.stop()
            emulator.stop()


def _run_fleet(
    args: argparse.Namespace, emulator: Emulator, outputs: dict[str, Any], keep: bool
) -> tuple[dict[str, str], ReleaseReport | None, Fleet | None]:
    """Boot the simulated fleet (one agent pass per instance), release ``--release`` if asked, summarize.

    With ``keep`` the fleet is returned running (``_serve`` keeps its agents on their timer); otherwise it
    stops before returning.
    """
    from ..emulator.fleet import Fleet

    released = None
    fleet = Fleet.start(emulator, outputs)
    try:
        fleet.converge_all()
        if args.release is not None:
            released = _release(args, emulator, outputs, fleet)
        summary = {region: fleet.summary(region) for region in fleet.regions}
    except BaseException:
        fleet.stop()
        raise
    if not keep:
        fleet.stop()
    return summary, released, fleet if keep else None


def _release(args: argparse.Namespace, emulator: Emulator, outputs: dict[str, Any], fleet: Fleet) -> ReleaseReport:
    import hashlib

    from ..emulator.release_target import EmulatorTarget
    from ..release import Options, StackOutputs, package_dir, release
    from ..release.package import archive
    from ..release.plan import poll_for
    from .common import console

    version = args.version
    if version is None:
        body, _ = archive(args.release)
        version = f"local-{hashlib.sha256(body).hexdigest()[:12]}"
    package = package_dir(args.release, version)
    target = EmulatorTarget(emulator, StackOutputs.parse(outputs, "the deployed stack"), fleet)
    options = Options(bake=args.bake, poll=poll_for(args.bake))
    if not args.json:
        console.print(f"releasing {args.release} as {version} to every region (bake {args.bake:g}s per wave)")
    return release(target, package, options)


def _serve(emulator: Emulator, fleet: Fleet | None = None) -> None:
    """Serve until Ctrl-C or SIGTERM, the fleet's agents on their timer; then stop the fleet and its apps."""
    import gc
    import signal
    import threading

    from ..emulator.living_fleet import LOCAL_AGENT_SECONDS, LivingFleet
    from .common import console

    if not emulator.owned:
        console.print(f"the emulator at {emulator.url} is served by another process; nothing to keep here")
        return
    gc.enable()  # fast_start turned it off for a bounded run; serving is not one
    living = None if fleet is None else LivingFleet(fleet).start()
    console.print(f"emulator serving at {emulator.url} (Ctrl-C stops it); in another shell:")
    for key, value in emulator.environment().items():
        console.print(f"export {key}={value}", soft_wrap=True, markup=False)
    if living is not None:
        console.print(
            f"the fleet keeps running: every instance's agent every {LOCAL_AGENT_SECONDS:g}s, its app serving "
            f"({', '.join(living.fleet.regions)})"
        )
    # Ctrl-C, or a SIGTERM from a supervisor: either way the caller stops the server and removes its key. The
    # wait wakes every WAKE_SECONDS: the kernel may hand a signal to any thread (a request handler, an agent's
    # timer), and Python runs its handler only when the main thread next executes, which a wait without a timeout
    # never does (Ctrl-C was seen to go unanswered that way).
    stopped = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        while not stopped.wait(WAKE_SECONDS):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        if living is not None:
            console.print("stopping the fleet")
            living.stop()
    console.print("stopping the emulator")
