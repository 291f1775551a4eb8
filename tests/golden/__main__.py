"""``python -m tests.golden [--update]``: compare every example's graph with its golden file, or rewrite them."""

from __future__ import annotations

import argparse
import sys

from . import ROOT, golden_path, snapshot, stack_files, synthesize


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.golden", description=__doc__)
    parser.add_argument("--update", action="store_true", help="rewrite the golden files (after an intended change)")
    args = parser.parse_args(argv)
    differ = []
    for stack_file in stack_files():
        path = golden_path(stack_file)
        text = snapshot(synthesize(stack_file))
        if args.update:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
        elif not path.is_file() or path.read_text() != text:
            differ.append(path.relative_to(ROOT))
    for path in differ:
        print(f"differs: {path}", file=sys.stderr)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
