"""The generator of TAP002's action table: reads parliament's copy of the AWS service authorization reference
and writes ``iam_actions.json.gz``.

    python -m tapstack.guard.rules.iam_actions_table

Run it after upgrading parliament and commit the table; tests/guard/test_iam_action_table.py fails until then.
Kept apart from the rule so that ``tapstack check`` never imports parliament, whose import parses its whole
10 MB reference (and pkg_resources) on every run although the rule needs only the action names.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from .iam import ACTIONS_TABLE, REGENERATE_ACTIONS


def read_parliament() -> dict[str, Any]:
    """Every service prefix with the names of its actions. Two services may share a prefix (Elastic Load
    Balancing v1 and v2): a prefix lists the union of their actions, each name once."""
    import importlib.metadata

    import parliament

    services: dict[str, set[str]] = {}
    for service in parliament.iam_definition:
        services.setdefault(service["prefix"], set()).update(p["privilege"] for p in service["privileges"])
    return {
        "parliament": importlib.metadata.version("parliament"),
        "generated_by": REGENERATE_ACTIONS,
        "services": {prefix: sorted(names) for prefix, names in sorted(services.items())},
    }


def render_table(table: dict[str, Any]) -> bytes:
    """Compact JSON, gzip'd without a timestamp: 430 KB of names become about 90 KB, the same bytes every run."""
    return gzip.compress(json.dumps(table, separators=(",", ":")).encode(), compresslevel=9, mtime=0)


if __name__ == "__main__":
    ACTIONS_TABLE.write_bytes(render_table(read_parliament()))
    print(f"wrote {ACTIONS_TABLE}")
