"""``python3 -m tapstack_agent``: one pass, run by ``tapstack-agent.service`` (timer: boot, then every 30 s).

Exit status 0 when the heartbeat was written (whatever it says), 1 when it could not be, 2 for a setup error;
the timer starts the next pass either way, and systemd never restarts a oneshot in a loop. One pass at a
time: a second invocation while one runs (the timer and an operator at once) exits without doing anything.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import DEFAULT_CONFIG, AgentConfig
from .cycle import run_once
from .heartbeat import HeartbeatUndelivered
from .service import SystemdService


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tapstack-agent", description="Follow the region's release pointer once.")
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="agent configuration (default: %(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        config = AgentConfig.load(Path(args.config))
    except (OSError, ValueError) as exc:
        print(f"tapstack-agent: cannot read {args.config}: {exc}", file=sys.stderr)
        return 2
    import boto3  # after the configuration check, so a setup error is reported without it

    config.root.mkdir(parents=True, exist_ok=True)
    with (config.root / "agent.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("tapstack-agent: another pass is running", file=sys.stderr)
            return 0
        session = boto3.session.Session(region_name=config.region)
        try:
            heartbeat = run_once(config, session.client("s3"), session.client("sts"), SystemdService())
        except HeartbeatUndelivered as exc:
            print(json.dumps(exc.heartbeat.to_json(), sort_keys=True))
            print(f"tapstack-agent: {exc}", file=sys.stderr)
            return 1
    print(json.dumps(heartbeat.to_json(), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
