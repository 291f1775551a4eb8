"""Benchmark: whole-process `tapstack diff` on the platform graph against itself and against a one-property change;
target <= 0.5 s each.

The graph is the platform example (three regions) synthesized once, outside the timing; the changed graph differs in
one input (the us-east-1 launch template's instance type, which also moves its group and starts an instance
refresh). Each run is a fresh ``tapstack`` process, as a reviewer or CI runs it; ``python -c pass`` is timed in the
same interleaved runs as the floor every Python command pays. One more run under ``python -X importtime`` tells
whether the diff loaded pulumi or pulumi_aws (it needs neither). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TAPSTACK = Path(sys.executable).parent / "tapstack"
CONFIG = ROOT / "examples" / "platform" / "Pulumi.dev.yaml"
TARGET_SECONDS = 0.5
REPEATS = 5
CHANGED = ("aws:ec2/launchTemplate:LaunchTemplate", "use1-app-lt", "instanceType", "t3.large")
"""(type, logical name, input, new value) of the one-property change."""


def _graphs(tmp: Path) -> tuple[Path, Path, int]:
    """(the platform graph, the same with one property changed, its AWS resource count)."""
    same = tmp / "graph.json"
    argv = [str(TAPSTACK), "synth", "--config", str(CONFIG), "--json", "--out", str(same)]
    resources = int(
        json.loads(subprocess.run(argv, check=True, capture_output=True, text=True, cwd=ROOT).stdout)["resources"]
    )
    data = json.loads(same.read_text())
    type_, name, key, value = CHANGED
    [target] = [r for r in data["resources"] if r["type"] == type_ and r["name"] == name]
    target["inputs"][key] = value
    changed = tmp / "changed.json"
    changed.write_text(json.dumps(data))
    return same, changed, resources


def _diff(old: Path, new: Path) -> list[str]:
    """The console script's entry point (collector off, no teardown), run by this interpreter."""
    entry = "import sys; sys.argv[0] = 'tapstack'; from tapstack.cli import entry; entry()"
    return [sys.executable, "-c", entry, "diff", str(old), str(new), "--json"]


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    if done.returncode not in (0, 1):  # 1: a destructive change, still a finished diff
        raise SystemExit(f"{' '.join(argv)} failed with exit code {done.returncode}:\n{done.stderr[-2000:]}")
    return done


def _timed(argv: list[str]) -> float:
    started = time.perf_counter()
    _run(argv)
    return time.perf_counter() - started


def _loaded(argv: list[str]) -> dict[str, bool]:
    done = _run([sys.executable, "-X", "importtime", *argv[1:]])
    modules = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    return {
        f"imports_{top}": any(m == top or m.startswith(f"{top}.") for m in modules) for top in ("pulumi", "pulumi_aws")
    }


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        same, changed, resources = _graphs(Path(tmp))
        itself, one_change, floor = _diff(same, same), _diff(same, changed), [sys.executable, "-c", "pass"]
        summary = json.loads(_run(one_change).stdout)["summary"]
        times: dict[str, list[float]] = {"itself": [], "one_change": [], "floor": []}
        for _ in range(REPEATS):  # interleaved, so drift on a shared machine hits all alike
            times["itself"].append(_timed(itself))
            times["one_change"].append(_timed(one_change))
            times["floor"].append(_timed(floor))
        loaded = _loaded(one_change)
    medians = {k: statistics.median(v) for k, v in times.items()}
    report: dict[str, object] = {
        "what": "whole-process `tapstack diff` of the platform graph vs the 0.5 s target",
        "resources": resources,
        "repeats": REPEATS,
        "against_itself_seconds": round(medians["itself"], 3),
        "one_property_change_seconds": round(medians["one_change"], 3),
        "one_property_change_summary": summary,
        "python_pass_seconds": round(medians["floor"], 3),
        "target_seconds": TARGET_SECONDS,
        "ratio_to_target": round(max(medians["itself"], medians["one_change"]) / TARGET_SECONDS, 3),
        **loaded,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
