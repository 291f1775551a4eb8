"""The Pulumi program: StackConfig -> TapStack -> stack outputs. Kept thin on purpose."""

from __future__ import annotations

import pulumi

from . import config
from .stack import TapStack, TapStackArgs


def main() -> None:
    cfg = config.load()
    stack = TapStack("tapstack", TapStackArgs(config=cfg, migration_token=config.migration_token()))
    for key, value in stack.exports.items():
        pulumi.export(key, value)
