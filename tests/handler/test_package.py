"""The package as Lambda runs it: a top-level `handler` package of boto3 + standard library code only."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "tapstack" / "handler"
ALLOWED = set(sys.stdlib_module_names) | {"boto3", "botocore"}


@pytest.mark.parametrize("module", sorted(p.name for p in PACKAGE.glob("*.py")))
def test_a_module_imports_only_relatively_or_from_stdlib_and_boto3(module: str) -> None:
    tree = ast.parse((PACKAGE / module).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            roots = {(node.module or "").split(".")[0]}
        else:
            continue
        assert roots <= ALLOWED, f"{module}:{node.lineno} imports {sorted(roots - ALLOWED)}"


def test_the_archive_imports_as_the_top_level_handler_package(tmp_path: Path) -> None:
    archive = tmp_path / "function.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in PACKAGE.glob("*.py"):
            zf.write(file, f"handler/{file.name}")
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import handler.app as app; "
        "assert app.handler.__module__ == 'handler.app'; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'tapstack', 'pulumi', 'pulumi_aws'}))"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe, str(archive)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
