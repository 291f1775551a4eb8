"""The launch template's user data: cloud-init that installs this agent and its systemd units.

Runs on the instance, not here: rendered by the program and read by cloud-init at first boot.

Dependencies, decided from the Amazon Linux 2023 documentation ("Python in AL2023"): ``/usr/bin/python3`` is
the system Python 3.9 for the life of AL2023, and Python modules are packaged as RPMs built for that system
Python, ``python3-boto3`` among them. The AL2023 package repositories are served from S3 in the instance's
region, so ``dnf install -y python3-boto3`` works from a private subnet through the VPC's S3 gateway endpoint
even with no NAT gateway; nothing comes from PyPI and nothing is pinned here that the AMI's locked
repository version does not already pin. The agent is therefore written for Python 3.9, stdlib + boto3.

What is shipped: the agent's own modules (this package minus this file) and the contract they import
(``tapstack/contract.py``), as one deterministic tar.xz bundle embedded base64 (cloud-init ``write_files``) and
unpacked to ``/opt/tapstack/agent/`` (``tapstack_agent/``, ``tapstack/``). To fit
AWS's 16 KB, each module goes through an ``ast`` round trip that drops docstrings and comments (the code is
the same code; tests run the unpacked bundle and parse it with Python 3.9's grammar); read them here. Three
units: ``tapstack-agent.service`` (one pass, oneshot), ``tapstack-agent.timer`` (at boot, then 30 s after
each pass ends; a boot timer already in the past when enabled fires at once, so first boot converges
immediately) and ``tapstack-app.service`` (the application, started by the agent, run as a dynamic user).
No secret: the region and the bucket name are all the agent is told; credentials come from the instance
role. The document is JSON, which is YAML, behind the ``#cloud-config`` header: nothing to escape by hand.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import functools
import gzip
import hashlib
import io
import json
import lzma
import re
import sys
import tarfile
from pathlib import Path

from ..lib.build_dirs import build_root, keep
from ..lib.contract_files import contract_files

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE_NAME = "tapstack_agent"
INSTALL_DIR = "/opt/tapstack/agent"
BUNDLE = "/opt/tapstack/agent.tar.xz"
CONFIG = "/etc/tapstack/agent.json"
_INDENT = re.compile(r"^(?:    )+", re.MULTILINE)
"""``ast.unparse`` indents by four spaces and writes no string literal across lines: one space per level is
the same code, smaller."""
USER_DATA_LIMIT = 16 * 1024
"""AWS's limit on user data, before base64 encoding."""

# AWS_STS_REGIONAL_ENDPOINTS: the region's own STS endpoint (reached through the VPC's sts endpoint when there is
# no NAT), not the global one. Comments stay here rather than in the units: user data is limited to 16 KB.
AGENT_SERVICE = f"""[Unit]
Description=TapStack release agent: one pass over releases/current.json
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
Environment=PYTHONPATH={INSTALL_DIR}
Environment=AWS_STS_REGIONAL_ENDPOINTS=regional
ExecStart=/usr/bin/python3 -m {PACKAGE_NAME} --config {CONFIG}
TimeoutStartSec=900
"""

AGENT_TIMER = """[Unit]
Description=Run the TapStack release agent at boot and every 30 s

[Timer]
OnBootSec=5s
OnUnitInactiveSec=30s
AccuracySec=1s

[Install]
WantedBy=timers.target
"""

APP_SERVICE = f"""[Unit]
Description=TapStack application: the release the agent switched to
ConditionPathExists=/etc/tapstack/app.json
After=network-online.target

[Service]
EnvironmentFile=-/etc/tapstack/app.env
ExecStart=/usr/bin/python3 {INSTALL_DIR}/{PACKAGE_NAME}/launch.py /etc/tapstack/app.json
DynamicUser=yes
StateDirectory=tapstack-app
Restart=on-failure
RestartSec=2
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes

[Install]
WantedBy=multi-user.target
"""

INSTALL_PYTHON = "for i in 1 2 3 4 5 6; do dnf install -y python3 python3-boto3 && exit 0; sleep 10; done; exit 1"
UNPACK = f"import tarfile; tarfile.open({BUNDLE!r}).extractall({INSTALL_DIR!r})"


def agent_sources() -> list[Path]:
    """The modules the instance runs: everything in this package except this renderer."""
    return sorted(p for p in PACKAGE_DIR.glob("*.py") if p.name != "userdata.py")


def _without_docstrings(source: str) -> str:
    """The module's code without docstrings, comments, or the annotations of function parameters and returns.

    Those annotations are never evaluated (every module has ``from __future__ import annotations``) and nothing
    on the instance reads them; class-level annotations stay, since dataclasses make their fields from them.
    """
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            kept = [s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
            node.body = kept or [ast.Pass()]  # type: ignore[attr-defined]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.returns = None
        elif isinstance(node, ast.arg):
            node.annotation = None
    return _INDENT.sub(lambda m: " " * (len(m.group(0)) // 4), ast.unparse(tree)) + "\n"


def shipped_sources() -> dict[str, str]:
    """File name -> the text the instance runs."""
    return {p.name: _without_docstrings(p.read_text()) for p in agent_sources()}


def shipped_files() -> dict[str, str]:
    """Bundle path -> text: ``tapstack_agent/*.py`` and the contract they import, ``tapstack/contract.py``."""
    contract = {path: _without_docstrings(file.read_text()) for path, file in contract_files().items()}
    return {**{f"{PACKAGE_NAME}/{name}": text for name, text in shipped_sources().items()}, **contract}


@functools.cache
def bundle() -> bytes:
    """The agent as ``tapstack_agent/*.py`` in a tar.xz that is byte-identical for identical sources.

    Stripping and compressing it costs about 0.09 s, a sixth of a three-region synth's run of the program: it is
    built once per process (every region's launch template embeds the same bundle) and kept between runs in
    the build directory under a digest of everything it is made from (the agent's sources, this renderer, the
    Python version whose ``ast.unparse`` wrote it)."""
    sources = agent_sources()
    digest = hashlib.sha256(f"{sys.version_info[:2]}".encode())
    for path in [Path(__file__), *sources, *contract_files().values()]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    kept = build_root("agent") / f"agent-{digest.hexdigest()[:16]}.tar.xz"
    with contextlib.suppress(OSError):
        return kept.read_bytes()
    data = build_bundle()
    keep(kept, data)
    return data


def build_bundle() -> bytes:
    """The bundle, built from the sources now (``bundle`` keeps it)."""
    buffer = io.BytesIO()
    with (
        lzma.LZMAFile(buffer, "w", preset=9 | lzma.PRESET_EXTREME) as packed,
        tarfile.TarFile(fileobj=packed, mode="w", format=tarfile.USTAR_FORMAT) as tar,
    ):
        for name, text in shipped_files().items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def render_user_data(*, region: str, bucket: str) -> str:
    """The cloud-config for one region's instances (``packed_user_data`` is what the launch template holds)."""
    config = json.dumps({"region": region, "bucket": bucket, "root": "/opt/tapstack"})
    files = [
        {"path": CONFIG, "permissions": "0644", "content": config + "\n"},
        {"path": "/etc/systemd/system/tapstack-agent.service", "content": AGENT_SERVICE},
        {"path": "/etc/systemd/system/tapstack-agent.timer", "content": AGENT_TIMER},
        {"path": "/etc/systemd/system/tapstack-app.service", "content": APP_SERVICE},
        {"path": BUNDLE, "encoding": "b64", "content": base64.b64encode(bundle()).decode()},
    ]
    commands = [
        ["sh", "-c", INSTALL_PYTHON],
        ["python3", "-c", UNPACK],
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", "tapstack-app.service"],
        ["systemctl", "enable", "--now", "tapstack-agent.timer"],
    ]
    return "#cloud-config\n" + json.dumps({"write_files": files, "runcmd": commands}, separators=(",", ":")) + "\n"


def packed_user_data(*, region: str, bucket: str) -> bytes:
    """The user data as the launch template carries it: the cloud-config, gzip-compressed.

    cloud-init's documented user-data formats include gzip-compressed content, which it decompresses and then
    handles as if it were not compressed (cloud-init docs, "User-data formats", "Gzip compressed content").
    AWS's 16 KB limit applies to these bytes (before base64); ValueError if they would exceed it.
    """
    data = gzip.compress(render_user_data(region=region, bucket=bucket).encode(), compresslevel=9, mtime=0)
    if len(data) > USER_DATA_LIMIT:
        raise ValueError(f"user data is {len(data)} bytes; AWS accepts at most {USER_DATA_LIMIT}")
    return data
