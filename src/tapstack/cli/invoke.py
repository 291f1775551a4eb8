"""`tapstack invoke`: run the migration handler against a kept emulator, as the deployed function would."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .common import DEFAULT_OUTPUTS, CommandError, emulator_at, err_console, print_json

ACTIONS = ("validate", "migrate", "rollback", "status")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    inv = sub.add_parser("invoke", help="run the migration handler against a kept emulator, as the deployed function")
    inv.add_argument("action", choices=ACTIONS)
    inv.add_argument("--endpoint", required=True, help="the emulator, as printed by `tapstack up --local --keep`")
    inv.add_argument("--region", help="region of the function (default: primary_region from --outputs)")
    inv.add_argument("--payload", default="{}", help='extra event fields as JSON, e.g. \'{"migration_id": "m-1"}\'')
    inv.add_argument("--outputs", type=Path, default=DEFAULT_OUTPUTS, help="read primary_region from here")
    inv.set_defaults(func=run)


def _primary_region(outputs: Path) -> str:
    try:
        region = json.loads(outputs.read_text()).get("primary_region")
    except (OSError, json.JSONDecodeError):
        region = None
    if not isinstance(region, str):
        raise CommandError(f"--region is required ({outputs} does not give a primary_region)")
    return region


def run(args: argparse.Namespace) -> int:
    from ..emulator.deploy import find_function, invoke_handler
    from ..emulator.engine import Clients

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
