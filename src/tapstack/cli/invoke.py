"""`tapstack invoke`: run the migration handler against a kept emulator, as the deployed function would."""

from __future__ import annotations

import argparse

from .args import DEFAULT_OUTPUTS, path

TYPE_CHECKING = False  # see args.py: typing stays unloaded when the CLI starts
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

ACTIONS = ("validate", "migrate", "rollback", "status")


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("--endpoint", required=True, help="the emulator, as printed by `tapstack up --local --keep`")
    parser.add_argument("--region", help="region of the function (default: primary_region from --outputs)")
    parser.add_argument("--payload", default="{}", help='extra event fields as JSON, e.g. \'{"migration_id": "m-1"}\'')
    parser.add_argument("--outputs", type=path, default=DEFAULT_OUTPUTS, help="read primary_region from here")


def _primary_region(outputs: Path) -> str:
    import json

    from .common import CommandError

    try:
        region = json.loads(outputs.read_text()).get("primary_region")
    except (OSError, json.JSONDecodeError):
        region = None
    if not isinstance(region, str):
        raise CommandError(f"--region is required ({outputs} does not give a primary_region)")
    return region


def run(args: argparse.Namespace) -> int:
    import json

    from ..emulator.deploy import find_function, invoke_handler
    from ..emulator.engine import Clients
    from .common import CommandError, emulator_at, err_console, print_json

    try:
        payload: Any = json.loads(args.payload)
    except json.JSONDecodeError as err:
        raise CommandError(f"--payload {args.payload!r}: not JSON ({err})") from None
    if not isinstance(payload, dict):
        raise CommandError(f"--payload {args.payload!r}: expected a JSON object")
    region = args.region or _primary_region(args.outputs)
    emulator = emulator_at(args.endpoint)
    try:
        function = find_function(Clients(emulator), region)
    except LookupError as err:
        raise CommandError(str(err)) from None
    invocation = invoke_handler(emulator, function, {**payload, "action": args.action})
    for line in invocation.logs:
        err_console.print(line, style="dim", markup=False, highlight=False, soft_wrap=True)
    print_json(invocation.response)
    return 0 if int(invocation.response.get("statusCode", 500)) < 400 else 1
