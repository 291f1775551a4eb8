"""The release library's target in the emulator: the handler runs in-process as the deployed function.

It implements ``tapstack.release.target.Target`` so that ``tapstack release --endpoint`` and ``up --local
--release`` run the very orchestration a real release runs; the release library itself imports nothing from here.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..contract import Outcome, Reply
from ..release.interrupts import shielded
from ..release.outputs import StackOutputs
from ..release.target import FleetDriver
from .deploy import deployed_function, invoke_handler
from .engine import Clients
from .lambda_invoke import Function
from .server import Emulator


class EmulatorTarget:
    """The emulator: the handler runs in-process as the deployed function (its environment read back)."""

    def __init__(self, emulator: Emulator, outputs: StackOutputs, fleet: FleetDriver | None = None) -> None:
        self.outputs = outputs
        self.label = f"emulator at {emulator.url}"
        self.client = Clients(emulator)
        self._emulator = emulator
        self._fleet = fleet
        self._functions: dict[str, Function] = {}

    def invoke(self, region: str, event: dict[str, Any]) -> Reply:
        name = self.outputs.region(region).function_name
        try:
            if region not in self._functions:
                self._functions[region] = deployed_function(self.client, region, name)
            # On AWS the function runs to its end whatever the caller does; here it runs in this process, so a
            # signal waits until it returns (cut in two, it would hold the region's lock until the lock expires).
            with shielded():
                response = invoke_handler(self._emulator, self._functions[region], event).response
        except (ClientError, BotoCoreError) as err:
            return Reply(502, Outcome.INVOKE_FAILED, f"cannot invoke {name} in {region}: {err}")
        return Reply.of(response)

    def converge(self, region: str) -> None:
        if self._fleet is not None:
            self._fleet.converge(region)
