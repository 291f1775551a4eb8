"""One simulated instance against in-process moto: a versioned deployment bucket, an instance role session
named after the instance (so the heartbeat key is the real ``AROA...:i-...`` form), a root directory of its
own, and the application as a real process on a free loopback port.

Releases are published the way the migration function leaves them: artifacts and manifest uploaded, then
``releases/current.json`` written with each artifact's sha256 and the S3 version id that was verified.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import tarfile
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from tapstack.agent.config import AgentConfig
from tapstack.agent.cycle import run_once
from tapstack.agent.heartbeat import Heartbeat
from tapstack.agent.service import ProcessService
from tapstack.contract import POINTER_KEY
from tests.helpers import EXAMPLES, aws_session, mocked_aws

REGION = "eu-west-1"
BUCKET = "tapstack-deploy-test-euw1"
INSTANCE_ID = "i-0123456789abcdef0"
POINTER = POINTER_KEY
APP, BROKEN = EXAMPLES / "app", EXAMPLES / "app-broken"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pack_files(files: Mapping[str, bytes]) -> bytes:
    """A tar.gz holding exactly ``files`` (member name -> bytes), deterministic."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def pack_dir(directory: Path) -> bytes:
    return pack_files({p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()})


def get_json(port: int, path: str = "/healthz") -> dict[str, Any]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
        return dict(json.loads(reply.read()))


class CountingService(ProcessService):
    """The emulator's process supervisor, counting restarts: a reinstall loop shows up as a count."""

    def __init__(self, log: Path) -> None:
        super().__init__(log)
        self.restarts: list[str] = []

    def restart(self, release_dir: Path, start: Sequence[str], environment: Mapping[str, str]) -> None:
        self.restarts.append(environment["TAPSTACK_RELEASE"])
        super().restart(release_dir, start, environment)


@dataclass
class Instance:
    s3: Any
    """An administrator's client: publishes releases and reads heartbeats."""
    agent_s3: Any
    agent_sts: Any
    user_id: str
    config: AgentConfig
    service: CountingService

    @property
    def port(self) -> int:
        assert self.config.port is not None
        return self.config.port

    def upload(self, key: str, body: bytes) -> str:
        return str(self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)["VersionId"])

    def publish(
        self,
        release: str,
        archive: bytes,
        *,
        start: Sequence[str] = ("python3", "app.py"),
        timeout: float = 5.0,
        pin: bool = True,
        sha256: str | None = None,
    ) -> dict[str, Any]:
        """Upload ``archive`` and a manifest for ``release``, then promote it; returns the pointer."""
        key = f"artifacts/{release}/app.tar.gz"
        version = self.upload(key, archive)
        digest = sha256 or hashlib.sha256(archive).hexdigest()
        manifest = {
            "release": release,
            "artifacts": [{"key": key, "sha256": digest}],
            "app": {"start": list(start), "health": {"path": "/healthz", "port": 8080, "timeout_seconds": timeout}},
        }
        manifest_key = f"artifacts/{release}/manifest.json"
        manifest_version = self.upload(manifest_key, json.dumps(manifest).encode())
        pointer: dict[str, Any] = {
            "release": release,
            "manifest_key": manifest_key,
            "manifest_version_id": manifest_version,
            "migration_id": f"m-{release}",
            "promoted_at": "2026-01-01T00:00:00Z",
        }
        if pin:
            pointer["artifacts"] = [{"key": key, "sha256": digest, "version_id": version}]
        self.s3.put_object(Bucket=BUCKET, Key=POINTER, Body=json.dumps(pointer).encode())
        return pointer

    def run(self) -> Heartbeat:
        return run_once(self.config, self.agent_s3, self.agent_sts, self.service)

    def stored_heartbeat(self) -> dict[str, Any]:
        body = self.s3.get_object(Bucket=BUCKET, Key=f"fleet/heartbeats/{self.user_id}.json")["Body"].read()
        return dict(json.loads(body))

    def serving(self) -> str:
        return str(get_json(self.port)["release"])


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Instance]:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_STS", "AWS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mocked_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="tapstack-instance", AssumeRolePolicyDocument=json.dumps(TRUST)
        )["Role"]
        credentials = boto3.client("sts", region_name=REGION).assume_role(
            RoleArn=role["Arn"], RoleSessionName=INSTANCE_ID
        )["Credentials"]
        session = aws_session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=REGION,
        )
        service = CountingService(tmp_path / "app.log")
        config = AgentConfig(region=REGION, bucket=BUCKET, root=tmp_path / "opt-tapstack", port=free_port())
        try:
            yield Instance(
                s3=s3,
                agent_s3=session.client("s3"),
                agent_sts=session.client("sts"),
                user_id=f"{role['RoleId']}:{INSTANCE_ID}",
                config=config,
                service=service,
            )
        finally:
            service.stop()
