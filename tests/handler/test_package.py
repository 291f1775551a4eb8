"""The package as Lambda runs it: a top-level `handler` package of boto3 + standard library code only."""

from __future__ import annotations

import ast
import copy
import sys
import zipfile
from pathlib import Path
from typing import Any

import boto3
import botocore
import pytest

from tapstack.components.migration import handler_files
from tests.helpers import run_from_archive

from .helpers import Region, body

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "tapstack" / "handler"
ALLOWED = set(sys.stdlib_module_names) | {"boto3", "botocore", "tapstack.contract", "tapstack.runtime"}
"""``tapstack.contract`` and ``tapstack.runtime`` are shipped in the archive beside the handler (see the archive test
below)."""


@pytest.mark.parametrize("module", sorted(p.name for p in PACKAGE.glob("*.py")))
def test_a_module_imports_only_relatively_or_from_stdlib_boto3_and_the_contract(module: str) -> None:
    tree = ast.parse((PACKAGE / module).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            module_name = node.module or ""
            roots = {module_name if module_name in ALLOWED else module_name.split(".")[0]}
        else:
            continue
        assert roots <= ALLOWED, f"{module}:{node.lineno} imports {sorted(roots - ALLOWED)}"


def test_the_archive_answers_with_the_contract_and_runtime_it_carries_not_the_installed_tapstack(
    tmp_path: Path,
) -> None:
    archive = tmp_path / "function.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, file in handler_files().items():
            zf.write(file, name)
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import handler.app as app; "
        "assert app.handler.__module__ == 'handler.app'; "
        "reply = app.handler({'action': 'deploy'}, None); "
        "print(reply['statusCode'], reply['body']['outcome']); "
        "print(sys.modules['tapstack.contract'].__file__); "
        "print(sys.modules['tapstack.runtime'].__file__); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'tapstack', 'pulumi', 'pulumi_aws'}))"
    )
    status, contract, runtime, modules = run_from_archive(probe, archive, tmp_path)[-4:]
    assert status == "400 invalid"
    assert contract == str(archive / "tapstack" / "contract.py"), "imported from the archive"
    assert runtime == str(archive / "tapstack" / "runtime.py"), "imported from the archive"
    assert modules == "['tapstack', 'tapstack.contract', 'tapstack.runtime']"


def _session_without_conditional_writes() -> boto3.session.Session:
    """A session whose S3 model is botocore's minus IfNoneMatch/IfMatch on PutObject: an older botocore."""
    session = boto3.session.Session()
    loader = session._session.get_component("data_loader")
    original = loader.load_service_model

    def load(service_name: str, type_name: str, api_version: str | None = None) -> Any:
        model = original(service_name, type_name, api_version)
        if service_name == "s3" and type_name == "service-2":
            model = copy.deepcopy(model)
            for member in ("IfNoneMatch", "IfMatch"):
                model["shapes"]["PutObjectRequest"]["members"].pop(member)
        return model

    loader.load_service_model = load
    return session


def test_a_botocore_without_s3_conditional_writes_is_a_500_naming_its_version_and_the_fix(
    aws: Region, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", _session_without_conditional_writes())
    monkeypatch.setattr(botocore, "__version__", "1.34.131")
    manifest = aws.release("r1")
    versions = aws.versions()
    response = aws.invoke({"action": "migrate", "migration_id": "m-001", "manifest_key": manifest})
    message = body(response)["message"]
    assert response["statusCode"] == 500
    assert "runs on botocore 1.34.131, whose S3 PutObject lacks IfNoneMatch and IfMatch" in message
    assert "package botocore>=1.35.69" in message
    assert aws.versions() == versions
