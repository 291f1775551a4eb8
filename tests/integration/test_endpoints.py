"""The emulator's clients and the in-process handler reach the emulator only, whatever the environment says.

A second loopback listener stands in for "somewhere else" (another endpoint, a proxy): every variable and
config file that boto3 or urllib would follow points at it, and it must receive nothing.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tapstack.emulator import sessions
from tapstack.emulator.deploy import invoke_handler
from tapstack.emulator.engine import Clients
from tapstack.emulator.server import Emulator
from tests.integration.helpers import PRIMARY, Deployed


class Trap:
    """A loopback listener that records every connection it is offered and closes it."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._socket.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread, which then ends
        self._socket.close()


@pytest.fixture
def trap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Trap]:
    """Every way to redirect boto3 or urllib points at the trap for the time of the test."""
    listener = Trap()
    config = tmp_path / "aws-config"
    config.write_text(
        "[default]\n"
        f"endpoint_url = {listener.url}\n"
        "services = elsewhere\n"
        "ignore_configured_endpoint_urls = true\n"
        "[profile redirected]\n"
        f"endpoint_url = {listener.url}\n"
        "ignore_configured_endpoint_urls = true\n"
        "[services elsewhere]\n"
        f"sns =\n  endpoint_url = {listener.url}\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "redirected")
    monkeypatch.setenv("AWS_ENDPOINT_URL", listener.url)
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    for service in ("S3", "SNS", "SSM", "SECRETS_MANAGER", "STS", "LAMBDA", "EC2", "KMS"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", listener.url)
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(proxy, listener.url)
    yield listener
    listener.close()


def test_the_emulators_clients_ignore_every_endpoint_profile_and_proxy_setting(
    trap: Trap, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sessions, "_session", None)  # a session built now, under the trap's environment
    with Emulator.start() as emulator:
        clients = Clients(emulator)
        assert clients("sts", "us-east-1").get_caller_identity()["Account"] == emulator.account_id
        clients("s3", "eu-west-1").list_buckets()
        clients("sns", "us-east-1").list_topics()
        clients("secretsmanager", "us-east-1").list_secrets()
        emulator.enforce_iam(False)  # moto's control API, over urllib
        Emulator.attach(emulator.url, ca_bundle=emulator.ca_bundle)
    assert trap.connections == 0


def test_the_in_process_handler_validates_against_the_emulator_only(deployed: Deployed, trap: Trap) -> None:
    invocation = invoke_handler(deployed.emulator, deployed.function(PRIMARY), {"action": "validate"})
    assert invocation.response["statusCode"] == 200, invocation.response
    assert trap.connections == 0


def test_an_in_process_invocation_leaves_the_process_environment_as_it_was(deployed: Deployed, trap: Trap) -> None:
    before = dict(os.environ)
    invoke_handler(deployed.emulator, deployed.function(PRIMARY), {"action": "status"})
    assert dict(os.environ) == before


def test_a_default_boto3_session_made_earlier_from_the_users_profile_cannot_redirect_the_handler(
    deployed: Deployed, trap: Trap, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anything in the process may have created boto3's default session from the user's profile (here one with
    ``ignore_configured_endpoint_urls``, which would send the handler to real AWS); the handler must not use it."""
    earlier = boto3.session.Session()
    assert earlier._session.get_scoped_config()["ignore_configured_endpoint_urls"] == "true"
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", earlier)
    invocation = invoke_handler(deployed.emulator, deployed.function(PRIMARY), {"action": "validate"})
    assert invocation.response["statusCode"] == 200, invocation.response
    assert trap.connections == 0
    assert boto3.DEFAULT_SESSION is earlier, "the process's default session stays as it was"
