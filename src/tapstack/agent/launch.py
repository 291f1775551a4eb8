"""``tapstack-app.service``'s ExecStart: exec the release's own argv in its release directory.

The agent writes the argv and directory to ``/etc/tapstack/app.json`` before each restart, so the unit file
never changes between releases; PORT and TAPSTACK_RELEASE arrive through the unit's EnvironmentFile.
"""

from __future__ import annotations

import json
import os
import sys


def main(path: str) -> None:
    with open(path) as spec_file:
        spec = json.load(spec_file)
    os.chdir(spec["cwd"])
    os.execvp(spec["start"][0], spec["start"])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/etc/tapstack/app.json")
