"""The emulator endpoint: loopback only, TLS with its own certificate, clean start and stop."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from werkzeug.routing import Rule

from tapstack.emulator.engine import Clients
from tapstack.emulator.loopback import EmulatorError, check_loopback
from tapstack.emulator.preparation import SERVICES
from tapstack.emulator.server import Emulator
from tapstack.emulator.signals import terminate_as_interrupt

ROOT = Path(__file__).resolve().parents[3]


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


SIGTERM_CHILD = """
import sys, time
from tapstack.emulator.server import Emulator
from tapstack.emulator.signals import Terminated, terminate_as_interrupt

try:
    with terminate_as_interrupt(), Emulator.start() as emulator:
        print(emulator.ca_bundle.parent, flush=True)
        time.sleep(60)
except Terminated as stopped:
    sys.exit(stopped.exit_code)
"""


def test_sigterm_stops_the_emulator_and_removes_its_private_key_as_ctrl_c_does() -> None:
    child = subprocess.Popen([sys.executable, "-c", SIGTERM_CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        workdir = Path(child.stdout.readline().strip())
        assert (workdir / "key.pem").is_file()
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=20) == 128 + signal.SIGTERM
    finally:
        child.kill()
    assert not workdir.exists(), "the TLS key and certificate are removed on SIGTERM"


def test_the_previous_sigterm_handler_is_back_after_the_block() -> None:
    def previous(signum: int, frame: object) -> None:
        raise AssertionError("not expected to run")

    saved = signal.signal(signal.SIGTERM, previous)
    try:
        with terminate_as_interrupt():
            assert signal.getsignal(signal.SIGTERM) is not previous
        assert signal.getsignal(signal.SIGTERM) is previous
    finally:
        signal.signal(signal.SIGTERM, saved)


def test_stop_returns_within_a_tenth_of_a_second() -> None:
    emulator = Emulator.start(tls=False)
    started = time.perf_counter()
    emulator.stop()
    assert time.perf_counter() - started < 0.1


SERVICE_CALLS: dict[str, tuple[str, dict[str, object]]] = {
    "autoscaling": ("describe_auto_scaling_groups", {}),
    "cloudwatch": ("describe_alarms", {}),
    "ec2": ("describe_vpcs", {}),
    "iam": ("list_roles", {}),
    "kms": ("list_keys", {}),
    "lambda": ("list_functions", {}),
    "logs": ("describe_log_groups", {}),
    "s3": ("list_buckets", {}),
    "secretsmanager": ("list_secrets", {}),
    "sns": ("list_topics", {}),
    "sqs": ("list_queues", {}),
    "ssm": ("describe_parameters", {}),
    "sts": ("get_caller_identity", {}),
}


def _first_requests(emulators: list[Emulator]) -> None:
    """One call per service per emulator, all at once: each is the first request its emulator gets for it."""
    calls = [(e, service) for e in emulators for service in SERVICE_CALLS]
    clients = {(e.url, s): e.client(s, "us-east-1") for e, s in calls}
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda c: getattr(clients[c[0].url, c[1]], SERVICE_CALLS[c[1]][0])(), calls))


def test_every_service_the_stack_calls_is_covered_by_the_prepared_routing() -> None:
    assert set(SERVICE_CALLS) == set(SERVICES)


def test_no_routing_rule_is_compiled_while_serving_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """werkzeug compiles rules with ``ast``, unsafe from two threads on 3.11.7: only before serving."""
    compiled_in: list[str] = []
    original = Rule.compile

    def recording(rule: Rule) -> None:
        compiled_in.append(threading.current_thread().name)
        original(rule)

    monkeypatch.setattr(Rule, "compile", recording)
    emulators = [Emulator.start(tls=False) for _ in range(3)]
    try:
        compiled_in.clear()
        _first_requests(emulators)
    finally:
        for emulator in emulators:
            emulator.stop()
    assert compiled_in == []


STRESS_CHILD = """
import gc, json, logging, sys
from tests.unit.emulator.test_emulator_server import _first_requests
from tapstack.emulator.server import Emulator

gc.set_threshold(50, 5, 5)  # collections during AST construction are what trip gh-106905
errors = []
class Collect(logging.Handler):
    def emit(self, record):
        errors.append(self.format(record))
logging.getLogger().addHandler(Collect(level=logging.ERROR))
emulators = [Emulator.start(tls=False) for _ in range(4)]
try:
    _first_requests(emulators)
finally:
    for emulator in emulators:
        emulator.stop()
print(json.dumps(errors))
"""


def test_concurrent_first_requests_to_fresh_emulators_log_no_error() -> None:
    done = subprocess.run(
        [sys.executable, "-c", STRESS_CHILD], capture_output=True, text=True, timeout=120, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
    assert "SystemError" not in done.stderr
    assert "Traceback" not in done.stderr


def test_the_emulator_resolves_each_hosts_backend_once_not_on_every_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto import backends

    listed: list[int] = []
    original = backends.list_of_moto_modules
    monkeypatch.setattr(backends, "list_of_moto_modules", lambda: listed.append(1) or original())
    with Emulator.start() as emulator:
        sqs = emulator.client("sqs", "us-east-1")
        before = len(listed)
        for _ in range(5):
            sqs.list_queues()
        assert len(listed) - before <= 1


REGIONS_CHILD = """
import json, boto3
made = []
real_init = boto3.session.Session.__init__
def counting(self, *args, **kwargs):
    made.append(1)
    real_init(self, *args, **kwargs)
boto3.session.Session.__init__ = counting
from tapstack.emulator import preparation
preparation._import_moto_ec2_regions()
import moto.ec2.models.availability_zones_and_regions as table
regions = [r.name for r in table.RegionsAndZonesBackend.regions]
print(json.dumps({"sessions": len(made), "restored": table.Session is boto3.Session, "regions": regions}))
"""


def test_moto_builds_its_ec2_region_table_from_one_boto3_session_and_keeps_the_real_class() -> None:
    done = subprocess.run([sys.executable, "-c", REGIONS_CHILD], capture_output=True, text=True, cwd=ROOT, check=True)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["sessions"] == 1 and seen["restored"]
    assert {"us-east-1", "eu-west-1", "us-gov-west-1", "cn-north-1"} <= set(seen["regions"])


def test_a_client_made_with_sts_credentials_signs_as_that_session_and_talks_only_to_the_emulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tapstack.emulator.sessions import client

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "https://elsewhere.example")
    credentials = {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "secret", "SessionToken": "token"}
    acting = client("s3", "eu-west-1", "https://127.0.0.1:4566", None, None, credentials)
    signed = acting._request_signer._credentials
    assert (signed.access_key, signed.secret_key, signed.token) == ("ASIAEXAMPLE", "secret", "token")
    assert acting.meta.endpoint_url == "https://127.0.0.1:4566"
    plain = client("s3", "eu-west-1", "https://127.0.0.1:4566", None)
    assert plain._request_signer._credentials.access_key != "ASIAEXAMPLE"


def test_stop_returns_and_removes_the_key_even_when_the_serving_loop_never_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tapstack.emulator import server as server_module

    monkeypatch.setattr(server_module, "STOP_SECONDS", 0.3)
    emulator = Emulator.start()
    stuck = threading.Event()
    assert emulator._server is not None and emulator._workdir is not None
    monkeypatch.setattr(emulator._server, "shutdown", stuck.wait)  # a loop that would never acknowledge
    workdir = emulator._workdir
    started = time.monotonic()
    try:
        emulator.stop()
        assert time.monotonic() - started < 3
        assert not workdir.exists()
    finally:
        stuck.set()


def test_the_tls_key_lives_in_a_private_folder_of_the_temp_directory_until_stop() -> None:
    """Where README says the key is written: tapstack-emulator-* in the temp directory, 0700, the key 0600."""
    import stat
    import tempfile

    emulator = Emulator.start()
    assert emulator.ca_bundle is not None
    folder = emulator.ca_bundle.parent
    try:
        assert folder.parent == Path(tempfile.gettempdir()) and folder.name.startswith("tapstack-emulator-")
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE((folder / "key.pem").stat().st_mode) == 0o600
    finally:
        emulator.stop()
    assert not folder.exists()
