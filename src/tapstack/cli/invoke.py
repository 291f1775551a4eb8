"""`tapstack invoke`: call a region's migration function, on AWS or in a kept emulator, and print its reply.

On AWS (the default) it is ``lambda:InvokeFunction`` on the function named in the stack outputs, with your
credentials; with ``--endpoint`` the handler runs in-process against the emulator as the deployed function
would (its environment and role read back). Both print the function's ``{"statusCode", "body"}``.
"""

from __future__ import annotations

import argparse

from .args import add_target_args

TYPE_CHECKING = False  # see args.py: typing stays unloaded when the CLI starts
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

ACTIONS = ("validate", "migrate", "rollback", "status")


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=ACTIONS)
    add_target_args(parser)
    parser.add_argument("--region", help="region of the function (default: primary_region from --outputs)")
    parser.add_argument("--payload", default="{}", help='extra event fields as JSON, e.g. \'{"migration_id": "m-1"}\'')


def _payload(text: str) -> dict[str, Any]:
    import json

    from .common import CommandError

    try:
        payload: Any = json.loads(text)
    except json.JSONDecodeError as err:
        raise CommandError(f"--payload {text!r}: not JSON ({err})") from None
    if not isinstance(payload, dict):
        raise CommandError(f"--payload {text!r}: expected a JSON object")
    return payload


def run(args: argparse.Namespace) -> int:
    from .common import print_json

    event = {**_payload(args.payload), "action": args.action}
    response = _in_emulator(args, event) if args.endpoint else _on_aws(args, event)
    print_json(response)
    status = response.get("statusCode")
    return 0 if isinstance(status, int) and status < 400 else 1


def _on_aws(args: argparse.Namespace, event: dict[str, Any]) -> dict[str, Any]:
    import boto3

    from ..release import AwsTarget, StackOutputs
    from .common import CommandError

    outputs = StackOutputs.load(args.outputs)
    region = args.region or outputs.primary
    outputs.region(region)  # an unknown region fails here, naming the stack's regions
    reply = AwsTarget(outputs, boto3.session.Session(profile_name=args.profile)).invoke(region, event)
    if reply.outcome == "invoke_failed":  # no answer from the function (no credentials, no network): one line
        raise CommandError(reply.message)
    return {
        "statusCode": reply.status,
        "body": {"outcome": reply.outcome, "message": reply.message, "result": reply.result},
    }


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


def _one_line(err: Exception) -> str:
    """A botocore error as one line: moto may put a whole XML document in the message."""
    from botocore.exceptions import ClientError

    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = error.get("Code") or status
        text = " ".join(str(error.get("Message") or "").split())
        if text.startswith("<"):
            text = "access refused" if status == 403 else "the emulator answered an error"
        return f"{code} on {err.operation_name}: {text[:200]}"
    return " ".join(str(err).split())[:300]


def _in_emulator(args: argparse.Namespace, event: dict[str, Any]) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    from ..emulator.deploy import find_function, invoke_handler
    from ..emulator.engine import Clients
    from ..release.interrupts import shielded, signals_as_interrupts
    from .common import CommandError, emulator_at, err_console

    region = args.region or _primary_region(args.outputs)
    emulator = emulator_at(args.endpoint)
    try:
        function = find_function(Clients(emulator), region)
        # The function runs in this process: a Ctrl-C waits until it returns (cut in two, it would keep the
        # region's release lock until the lock expires), as on AWS where the function ends whatever the caller does.
        with signals_as_interrupts(), shielded():
            invocation = invoke_handler(emulator, function, event)
    except LookupError as err:
        raise CommandError(str(err)) from None
    except (ClientError, BotoCoreError) as err:  # the emulator refused the lookup (a traceback told no more)
        raise CommandError(f"{args.endpoint}: cannot read the function in {region}: {_one_line(err)}") from None
    for line in invocation.logs:
        err_console.print(line, style="dim", markup=False, highlight=False, soft_wrap=True)
    response: dict[str, Any] = invocation.response
    return response
