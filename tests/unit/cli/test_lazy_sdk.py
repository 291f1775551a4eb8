"""The CLI's pulumi_aws service packages: one resource module loaded per class used, the same classes as the
SDK's eager packages, the same graph, and the SDK's own loading for any package it does not recognise."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tapstack.cli import lazy_sdk
from tests.helpers import ROOT, example_config, run_synth

SDK_ROOT = Path(importlib.util.find_spec("pulumi_aws").origin or "").parent  # type: ignore[union-attr]
_ALL = re.compile(r"^__all__ = \[(.*?)\]$", re.M | re.S)


def _exports_by_module(package: str) -> dict[str, list[str]]:
    """Each deferred module of a service package with the names its ``__all__`` lists, read from the source."""
    found = lazy_sdk.plan((SDK_ROOT / package / "__init__.py").read_text())
    assert found is not None, f"pulumi_aws.{package} is not a usual generated package"
    exports = {}
    for module in found.deferred:
        listed = _ALL.search((SDK_ROOT / package / f"{module}.py").read_text())
        assert listed is not None, f"pulumi_aws.{package}.{module} has no __all__"
        exports[module] = re.findall(r"'(\w+)'", listed.group(1))
    return exports


def _used_packages() -> set[str]:
    graph = run_synth(example_config("platform"))
    services = {r.type.split(":")[1].split("/")[0] for r in graph.aws_resources()}
    return {"lambda_" if service == "lambda" else service for service in services}


def test_no_two_modules_of_a_service_package_export_the_same_name_in_the_installed_sdk() -> None:
    """What makes resolving a name from one module the same as the eager package's star-imports in order."""
    packages = [p.parent.name for p in SDK_ROOT.glob("*/__init__.py")]
    checked = 0
    for package in packages:
        if lazy_sdk.plan((SDK_ROOT / package / "__init__.py").read_text()) is None:
            continue
        owner: dict[str, str] = {}
        for module, names in _exports_by_module(package).items():
            for name in names:
                assert name not in owner, f"pulumi_aws.{package}: {name} in both {owner[name]} and {module}"
                owner[name] = module
        checked += 1
    assert checked > 200


def test_every_name_the_program_can_use_is_found_in_the_first_module_guessed() -> None:
    packages = _used_packages()
    assert {"ec2", "s3", "iam", "kms", "lambda_"} <= packages
    for package in packages:
        for module, names in _exports_by_module(package).items():
            for name in names:
                assert lazy_sdk.guesses(name)[0] == module or module in lazy_sdk.guesses(name), (package, name)


def test_a_generated_init_keeps_its_header_and_private_star_imports_and_defers_the_rest() -> None:
    source = (SDK_ROOT / "ec2" / "__init__.py").read_text()
    found = lazy_sdk.plan(source)
    assert found is not None
    assert "from ._enums import *" in found.eager and "from ._inputs import *" in found.eager
    assert "from . import outputs" in found.eager and "from .vpc import *" not in found.eager
    assert found.deferred[:3] == ["allowed_images_settings", "ami", "ami_copy"] and "vpc" in found.deferred


def test_an_init_with_any_other_statement_is_left_to_the_sdks_loader() -> None:
    assert lazy_sdk.plan((SDK_ROOT / "config" / "__init__.py").read_text()) is None
    assert lazy_sdk.plan("from .vpc import *\nVPC_LIMIT = 5\n") is None


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("VpcEndpoint", "vpc_endpoint"),
        ("BucketV2", "bucket_v2"),
        ("AwaitableGetAmiResult", "get_ami"),
        ("GetAmiResult", "get_ami"),
        ("BucketLoggingInitArgs", "bucket_logging"),
        ("get_ami_output", "get_ami"),
    ],
)
def test_a_name_is_guessed_to_live_in_the_module_the_generator_puts_it(name: str, module: str) -> None:
    assert module in lazy_sdk.guesses(name)


def _service_package(root: Path, body: dict[str, str]) -> ModuleType:
    """A generated-style package ``fakesdk.svc`` under ``root``, loaded by the CLI's loader."""
    (root / "fakesdk" / "svc").mkdir(parents=True)
    (root / "fakesdk" / "__init__.py").write_text("")
    (root / "fakesdk" / "_utilities.py").write_text("")
    init = ["import builtins as _builtins", "from .. import _utilities", "import typing"]
    init += [f"from .{module} import *" for module in body]
    (root / "fakesdk" / "svc" / "__init__.py").write_text("\n".join(init) + "\n")
    for module, text in body.items():
        (root / "fakesdk" / "svc" / f"{module}.py").write_text(text)
    sys.path.insert(0, str(root))
    importlib.import_module("fakesdk")
    path = root / "fakesdk" / "svc" / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        "fakesdk.svc",
        path,
        loader=lazy_sdk._ServicePackageLoader("fakesdk.svc", str(path)),
        submodule_search_locations=[str(path.parent)],
    )
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules["fakesdk.svc"] = package
    spec.loader.exec_module(package)
    return package


@pytest.fixture
def fake_package(tmp_path: Path) -> Iterator[ModuleType]:
    yield _service_package(
        tmp_path,
        {
            "alpha": "__all__ = ['Alpha']\nclass Alpha: pass\n",
            "beta": "__all__ = ['Beta', 'Zed']\nclass Beta: pass\nclass Zed: pass\n",
            "gamma": "__all__ = ['Gamma']\nclass Gamma: pass\n",
            "_private": "Hidden = 1\n",
        },
    )
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m == "fakesdk" or m.startswith("fakesdk.")]:
        del sys.modules[name]


def test_private_modules_are_star_imported_with_the_package_and_public_ones_wait(fake_package: ModuleType) -> None:
    assert vars(fake_package)["Hidden"] == 1
    assert not any(name in sys.modules for name in ("fakesdk.svc.alpha", "fakesdk.svc.beta", "fakesdk.svc.gamma"))


def test_a_guessed_name_loads_its_module_only(fake_package: ModuleType) -> None:
    assert fake_package.Gamma.__module__ == "fakesdk.svc.gamma"
    assert "fakesdk.svc.gamma" in sys.modules
    assert "fakesdk.svc.alpha" not in sys.modules and "fakesdk.svc.beta" not in sys.modules


def test_an_unguessable_name_is_found_by_loading_modules_in_the_inits_order(fake_package: ModuleType) -> None:
    assert fake_package.Zed.__module__ == "fakesdk.svc.beta"
    assert "fakesdk.svc.alpha" in sys.modules and "fakesdk.svc.gamma" not in sys.modules
    assert fake_package.Beta is sys.modules["fakesdk.svc.beta"].Beta


def test_a_name_no_module_exports_is_an_attribute_error_after_loading_them_all(fake_package: ModuleType) -> None:
    with pytest.raises(AttributeError, match=re.escape("'fakesdk.svc' has no attribute 'Nothing'")):
        fake_package.Nothing  # noqa: B018
    assert {"fakesdk.svc.alpha", "fakesdk.svc.beta", "fakesdk.svc.gamma"} <= set(sys.modules)


def test_install_changes_nothing_once_the_sdk_is_imported() -> None:
    import pulumi_aws  # noqa: F401

    before = list(sys.meta_path)
    assert lazy_sdk.install() is False
    assert sys.meta_path == before


LOADED = """
import sys
from tapstack.cli import lazy_sdk
assert lazy_sdk.install()
import pulumi_aws as aws
vpc, bucket = aws.ec2.Vpc, aws.s3.Bucket
ec2 = sorted(m for m in sys.modules if m.startswith("pulumi_aws.ec2."))
print(vpc.__module__, bucket.__module__, " ".join(ec2))
"""


def test_the_cli_process_loads_the_module_of_each_class_used_and_not_the_service_packages_others() -> None:
    done = subprocess.run([sys.executable, "-c", LOADED], capture_output=True, text=True, cwd=ROOT, check=True)
    vpc_module, bucket_module, *ec2 = done.stdout.split()
    assert (vpc_module, bucket_module) == ("pulumi_aws.ec2.vpc", "pulumi_aws.s3.bucket")
    assert ec2 == ["pulumi_aws.ec2._enums", "pulumi_aws.ec2._inputs", "pulumi_aws.ec2.outputs", "pulumi_aws.ec2.vpc"]


def _resources(graph_file: Path) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in json.loads(graph_file.read_text())["resources"])


def test_the_cli_synthesizes_the_same_graph_as_a_process_with_the_sdks_own_packages(tmp_path: Path) -> None:
    tapstack = Path(sys.executable).parent / "tapstack"
    lazy, eager = tmp_path / "lazy.json", tmp_path / "eager.json"
    subprocess.run([str(tapstack), "synth", "--out", str(lazy)], cwd=ROOT, check=True, capture_output=True)
    eager_run = (
        f"import sys; from tapstack.cli import main; main(['synth', '--out', {str(eager)!r}]); "
        "assert 'pulumi_aws.ec2.ami' in sys.modules, 'not the eager packages'"
    )
    subprocess.run([sys.executable, "-c", eager_run], cwd=ROOT, check=True, capture_output=True)
    assert _resources(lazy) == _resources(eager)
    assert len(_resources(lazy)) > 100
