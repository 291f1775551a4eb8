"""The emulator endpoint: loopback only, TLS with its own certificate, clean start and stop."""

from __future__ import annotations

import socket
import ssl
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from tapstack.emulator.engine import Clients
from tapstack.emulator.server import Emulator, EmulatorError, check_loopback


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("https://127.0.0.1:4566", "https://127.0.0.1:4566"),
        ("http://127.0.0.1:5000/", "http://127.0.0.1:5000"),
        ("https://127.0.0.2:443", "https://127.0.0.2:443"),
        ("http://[::1]:5000", "http://::1:5000"),
    ],
)
def test_loopback_endpoints_are_accepted(url: str, endpoint: str) -> None:
    assert check_loopback(url) == endpoint


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://10.0.0.5:4566", "10.0.0.5 is not a loopback address"),
        ("https://s3.amazonaws.com:443", "s3.amazonaws.com is not a loopback address"),
        ("https://localhost:4566", "localhost is not a loopback address"),
        ("https://127.0.0.1", "expected https://127.0.0.1:PORT"),
        ("ftp://127.0.0.1:21", "expected https://127.0.0.1:PORT"),
    ],
)
def test_anything_else_is_refused_before_a_request_is_made(url: str, message: str) -> None:
    with pytest.raises(EmulatorError, match=message):
        Emulator.attach(url)


def test_an_https_endpoint_needs_the_emulators_certificate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    with pytest.raises(EmulatorError, match="set AWS_CA_BUNDLE to the emulator's certificate"):
        Emulator.attach("https://127.0.0.1:4566")


def test_a_port_where_nothing_answers_is_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(EmulatorError, match=rf"http://127.0.0.1:{port} does not answer like a moto server"):
        Emulator.attach(f"http://127.0.0.1:{port}", timeout=0.3)


def test_the_emulator_serves_tls_on_loopback_that_only_its_certificate_verifies() -> None:
    with Emulator.start() as emulator:
        assert emulator.url.startswith("https://127.0.0.1:")
        assert emulator.ca_bundle is not None
        trusted = ssl.create_default_context(cafile=emulator.ca_bundle)
        with urllib.request.urlopen(f"{emulator.url}/moto-api/config", context=trusted) as reply:
            assert reply.status == 201  # moto answers its config with 201
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            urllib.request.urlopen(f"{emulator.url}/moto-api/config", context=ssl.create_default_context())
        assert emulator.environment() == {
            "AWS_ENDPOINT_URL": emulator.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_CA_BUNDLE": str(emulator.ca_bundle),
        }
        attached = Emulator.attach(emulator.url, ca_bundle=emulator.ca_bundle)
        assert not attached.owned
        attached.stop()  # an attached emulator is never stopped by us
        assert Clients(emulator)("sts", "us-east-1").get_caller_identity()["Account"] == emulator.account_id
    assert not emulator.ca_bundle.exists(), "the certificate and key are removed on stop"
    port = int(emulator.url.rsplit(":", 1)[1])
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_iam_enforcement_refuses_unknown_credentials_until_switched_off() -> None:
    with Emulator.start(tls=False) as emulator:
        sts = Clients(emulator)("sts", "us-east-1")
        emulator.enforce_iam(True)
        try:
            with pytest.raises(ClientError) as refused:
                Clients(emulator)("iam", "us-east-1").list_roles()
            assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"
        finally:
            emulator.enforce_iam(False)
        assert sts.get_caller_identity()["Account"] == emulator.account_id
