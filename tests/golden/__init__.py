"""Golden graphs: what every example synthesizes to, committed so that a refactoring proves it changes nothing.

One JSON file per stack file ``examples/<scenario>/Pulumi.<stack>.yaml``: the URN set (what a real deployment
would replace or delete if it changed) and the whole graph, resources in URN order (the runtime registers them
from several threads) and asset paths relative to the repository (a clone may live anywhere).

    python -m tests.golden            # compare, exit 1 and name the examples that differ
    python -m tests.golden --update   # rewrite the files after an intended change; review the diff, commit it

``urns/<example>.<stack>.json`` is the URN set a deployed stack of the example holds: ``--update`` never writes
it. Every URN in it must stay the URN or an alias of a resource of the graph (a refactoring that moves resources
adds aliases); change it by hand only when replacing deployed resources is intended.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tapstack import stackfile
from tapstack.graph import Graph

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
GOLDEN = Path(__file__).resolve().parent
TOKEN = "golden-migration-token-0123456789"
"""A fixed migration token (a secret: the graph shows it redacted) instead of the throwaway one local runs make."""


def stack_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*/Pulumi.*.yaml"))


def golden_path(stack_file: Path) -> Path:
    stack = stack_file.name.split(".")[1]
    return GOLDEN / f"{stack_file.parent.name}.{stack}.json"


def deployed_urns_path(stack_file: Path) -> Path:
    """The URNs a deployed stack of the example holds (see the module docstring)."""
    return GOLDEN / "urns" / golden_path(stack_file).name


def _relative_assets(value: Any, source_root: Path) -> Any:
    if isinstance(value, dict):
        out = {k: _relative_assets(v, source_root) for k, v in value.items()}
        path = out.get("path")
        if "$asset" in out and isinstance(path, str) and Path(path).is_absolute():
            out["path"] = Path(path).resolve().relative_to(source_root).as_posix()
        return out
    if isinstance(value, list):
        return [_relative_assets(v, source_root) for v in value]
    return value


def synthesize(stack_file: Path) -> Graph:
    """The example's graph as ``tapstack synth --config <stack file>`` makes it, with the fixed token."""
    from tapstack.program import main as program
    from tapstack.synth import synthesize as run

    settings = stackfile.load(stack_file)
    settings.values[f"{stackfile.NAMESPACE}:migrationToken"] = TOKEN
    settings.secret_keys.append(f"{stackfile.NAMESPACE}:migrationToken")
    return run(program, settings.values, stack=settings.stack, secret_keys=settings.secret_keys)


def snapshot(graph: Graph) -> str:
    """The canonical text of a graph: what the golden file holds, byte for byte."""
    import tapstack

    source_root = Path(tapstack.__file__).resolve().parents[2]
    data = graph.to_dict()
    data["resources"] = sorted(data["resources"], key=lambda r: r["urn"])
    doc = {"urns": [r["urn"] for r in data["resources"]], "graph": _relative_assets(data, source_root)}
    return json.dumps(doc, indent=1, sort_keys=True, default=str) + "\n"
