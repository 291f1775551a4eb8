"""``python -m tests.guard.rule_docs [--update]``: every rule-id range written in the repository, and the rule table
of docs/guard-rules.md, as the rule catalogue says them; without ``--update`` it lists the stale files (exit 1).

The range ("TAP001-TAP013") is written wherever a reader meets the rules (README, runbook, guard-rules.md, the
catalogue's docstring, the CrossGuard pack's description); a new rule changes it everywhere with this one command.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from tapstack.guard.rules import reference_markdown, rule_range
from tests.helpers import ROOT

RANGE = re.compile(r"\bTAP\d{3}-TAP\d{3}\b")
START, END = "<!-- guard-rules:start -->", "<!-- guard-rules:end -->"
REFERENCE = ROOT / "docs" / "guard-rules.md"


def candidates() -> list[Path]:
    """The files a rule range may be written in: the README, the docs, the source and the policy pack."""
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    files += sorted((ROOT / "src" / "tapstack").rglob("*.py")) + sorted((ROOT / "policy-pack").glob("*.y*ml"))
    return files


def rendered(path: Path) -> str:
    """The file with every rule range (and, in docs/guard-rules.md, the rule table) as the catalogue says."""
    text = RANGE.sub(rule_range(), path.read_text())
    if path == REFERENCE:
        head, rest = text.split(START, 1)
        text = f"{head}{START}\n{reference_markdown()}{END}{rest.split(END, 1)[1]}"
    return text


def stale() -> list[Path]:
    return [p for p in candidates() if p.read_text() != rendered(p)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.guard.rule_docs", description=__doc__)
    parser.add_argument("--update", action="store_true", help="rewrite the stale files")
    args = parser.parse_args(argv)
    for path in stale():
        if args.update:
            path.write_text(rendered(path))
            print(f"wrote {path.relative_to(ROOT)}")
        else:
            print(f"stale: {path.relative_to(ROOT)}", file=sys.stderr)
    return 0 if args.update else (1 if stale() else 0)


if __name__ == "__main__":
    sys.exit(main())
