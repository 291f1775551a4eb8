"""boto3 clients that reach the emulator and nothing else.

The clients come from one sealed boto3 session (``client``): it reads no ``AWS_*`` variable, no shared config or
credentials file and no proxy setting, and each client names the emulator as its endpoint, so
``AWS_ENDPOINT_URL_<SERVICE>``, a profile's ``endpoint_url`` or ``HTTPS_PROXY`` cannot send a request elsewhere.
Sharing the session also shares its loaded service models: a client costs ~12 ms instead of the ~70 ms of a fresh
session.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .loopback import check_loopback

# Every request to the emulator is signed with these; moto accepts any key until IAM enforcement is on.
DUMMY_ACCESS_KEY = "testing"
DUMMY_SECRET_KEY = "testing"

_session_lock = threading.Lock()
_session: Any | None = None


def _session_without_files(environment: dict[str, tuple[str | None, Any]]) -> Any:
    """A botocore session whose settings come from their defaults, never from a config or credentials file,
    and from the process environment only for the ``environment`` variables named (name -> (env var, default)).
    """
    import botocore.session
    from botocore.configprovider import BOTOCORE_DEFAUT_SESSION_VARIABLES

    variables: dict[str, tuple[None, str | None, Any, Any]] = {
        name: (None, None, default, convert)
        for name, (_, _, default, convert) in BOTOCORE_DEFAUT_SESSION_VARIABLES.items()
    }
    variables["config_file"] = variables["credentials_file"] = (None, None, os.devnull, None)
    for name, (env_var, default) in environment.items():
        variables[name] = (None, env_var, default, variables[name][3])
    return botocore.session.Session(session_vars=variables)


def _sealed_session() -> Any:
    """The process's one boto3 session that reads nothing from the environment or the user's AWS files."""
    global _session
    if _session is None:
        import boto3

        core = _session_without_files({"ignore_configured_endpoint_urls": (None, True)})
        _session = boto3.session.Session(
            aws_access_key_id=DUMMY_ACCESS_KEY, aws_secret_access_key=DUMMY_SECRET_KEY, botocore_session=core
        )
    return _session


def client(
    service: str,
    region: str,
    endpoint: str,
    ca_bundle: Path | None,
    config: Any | None = None,
    credentials: Mapping[str, str] | None = None,
) -> Any:
    """A boto3 client of ``service`` that talks to ``endpoint`` (a loopback emulator) and only to it.

    ``credentials`` (STS's ``AccessKeyId``/``SecretAccessKey``/``SessionToken``) make it act as that role
    session, as an instance's agent does; the client still comes from the one sealed session, whose parsed
    service models a session of its own would parse again (~40 ms per instance pass for s3 and sts).
    Thread-safe: botocore sessions are not safe to create clients from concurrently, clients are.
    """
    from botocore.config import Config

    sealed = Config(proxies={}, ignore_configured_endpoint_urls=True)
    acting_as = (
        {}
        if credentials is None
        else {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
    )
    with _session_lock:
        return _sealed_session().client(
            service,
            region_name=region,
            endpoint_url=check_loopback(endpoint),
            verify=str(ca_bundle) if ca_bundle else True,
            config=sealed.merge(config) if config is not None else sealed,
            **acting_as,
        )
