"""The CLI's pulumi_aws service packages: one resource module loaded per class used, the same classes as the
SDK's eager packages, the same graph, and the SDK's own loading for any package it does not recognise."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tapstack.cli import fast_start
from tests.helpers import ROOT, example_config, run_synth

SDK_ROOT = Path(importlib.util.find_spec("pulumi_aws").origin or "").parent  # type: ignore[union-attr]
_ALL = re.compile(r"^__all__ = \[(.*?)\]$", re.M | re.S)


def _exports_by_module(package: str) -> dict[str, list[str]]:
    """Each deferred module of a service package with the names its ``__all__`` lists, read from the source."""
    found = fast_start.plan((SDK_ROOT / package / "__init__.py").read_text())
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
        if fast_start.plan((SDK_ROOT / package / "__init__.py").read_text()) is None:
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
                assert fast_start.guesses(name)[0] == module or module in fast_start.guesses(name), (package, name)


def test_a_generated_init_keeps_its_header_and_private_star_imports_and_defers_the_rest() -> None:
    source = (SDK_ROOT / "ec2" / "__init__.py").read_text()
    found = fast_start.plan(source)
    assert found is not None
    assert "from ._enums import *" in found.eager and "from ._inputs import *" in found.eager
    assert "from . import outputs" in found.eager and "from .vpc import *" not in found.eager
    assert found.deferred[:3] == ["allowed_images_settings", "ami", "ami_copy"] and "vpc" in found.deferred


def test_an_init_with_any_other_statement_is_left_to_the_sdks_loader() -> None:
    assert fast_start.plan((SDK_ROOT / "config" / "__init__.py").read_text()) is None
    assert fast_start.plan("from .vpc import *\nVPC_LIMIT = 5\n") is None


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
    assert module in fast_start.guesses(name)


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
        loader=fast_start._ServicePackageLoader("fakesdk.svc", str(path)),
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
    assert fast_start.install() is False
    assert sys.meta_path == before


LOADED = """
import sys
from tapstack.cli import fast_start
assert fast_start.install()
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


SYNTH_AND_HINTS = """
import importlib, json, sys
if sys.argv[1] == "cli":
    from tapstack.cli import fast_start
    assert fast_start.install()
from tapstack.cli import main
main(["synth", "--out", sys.argv[2]])
from pulumi import _types
modules = sys.argv[3:] or sorted(
    name for name, module in sys.modules.items()
    if name.startswith("pulumi_aws.") and name.count(".") == 2 and getattr(module, "__file__", None)
)
hints = {}
for name in modules:
    module = importlib.import_module(name)
    for attr in getattr(module, "__all__", []):
        obj = getattr(module, attr)
        if isinstance(obj, type) and _types._py_properties(obj):
            try:
                hints[f"{name}.{attr}"] = repr(_types._raw_return_hints(obj))
            except Exception as exc:
                hints[f"{name}.{attr}"] = type(exc).__name__
report = {"eager": "pulumi_aws.ec2.ami" in sys.modules, "modules": modules, "hints": hints}
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The platform synthesized by a process loading pulumi_aws as the CLI does, then by one loading it as the
    SDK does; each reports the modules (the CLI's) and the type hints the SDK resolves for their classes."""
    folder = tmp_path_factory.mktemp("graphs")
    runs: dict[str, Any] = {}
    for how in ("cli", "sdk"):
        graph = folder / f"{how}.json"
        argv = [sys.executable, "-c", SYNTH_AND_HINTS, how, str(graph), *runs.get("cli", {}).get("modules", [])]
        done = subprocess.run(argv, cwd=ROOT, check=True, capture_output=True, text=True)
        runs[how] = {**json.loads(done.stdout.splitlines()[-1]), "graph": _resources(graph)}
    return runs


def test_the_cli_synthesizes_the_same_graph_as_a_process_loading_the_sdk_its_own_way(
    two_processes: dict[str, Any],
) -> None:
    cli, sdk = two_processes["cli"], two_processes["sdk"]
    assert (cli["eager"], sdk["eager"]) == (False, True)
    assert cli["graph"] == sdk["graph"] and len(cli["graph"]) > 100


def test_the_sdk_resolves_the_same_types_for_every_class_of_the_modules_the_cli_loads(
    two_processes: dict[str, Any],
) -> None:
    """Resources, input and output types through the SDK's own resolution."""
    cli, sdk = two_processes["cli"], two_processes["sdk"]
    assert len(cli["hints"]) > 500
    assert cli["hints"] == sdk["hints"]


def test_no_class_the_cli_loads_declares_class_level_annotations_except_typeddicts(
    two_processes: dict[str, Any],
) -> None:
    """The one other place the SDK reads annotations (``_properties_from_annotations``), where postponed ones
    would reach it as strings."""
    annotated = []
    for name in two_processes["cli"]["modules"]:
        path = SDK_ROOT.joinpath(*name.split(".")[1:]).with_suffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ClassDef)
                and not any("TypedDict" in ast.unparse(base) for base in node.bases)
                and any(isinstance(statement, ast.AnnAssign) for statement in node.body)
            ):
                annotated.append(f"{name}.{node.name}")
    assert annotated == []
    assert len(two_processes["cli"]["modules"]) > 40


@pytest.fixture
def compiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Code kept under ``tmp_path``, and the path of every source the loaders compile."""
    monkeypatch.setattr(fast_start, "_kept", lambda fullname: tmp_path / "kept" / f"{fullname}.bin")
    paths: list[str] = []

    def counting(source_bytes: bytes, path: str, mode: str, **kwargs: Any) -> Any:
        paths.append(path)
        return compile(source_bytes, path, mode, **kwargs)

    monkeypatch.setattr(fast_start, "compile", counting, raising=False)
    return paths


def test_a_module_is_compiled_once_with_postponed_annotations_and_again_when_its_source_changes(
    tmp_path: Path, compiled: list[str]
) -> None:
    source = tmp_path / "module.py"
    source.write_text("def f(x: undefined_name) -> int:\n    return 1\n")
    loader = fast_start._DeferredAnnotationsLoader("pulumi_aws.unit_module", str(source))
    namespace: dict[str, Any] = {}
    exec(loader.get_code("pulumi_aws.unit_module"), namespace)
    assert namespace["f"].__annotations__ == {"x": "undefined_name", "return": "int"}
    loader.get_code("pulumi_aws.unit_module")
    assert len(compiled) == 1, "the kept code should have been read back"
    source.write_text("def f(x: undefined_name) -> str:\n    return 'changed'\n")
    namespace = {}
    exec(loader.get_code("pulumi_aws.unit_module"), namespace)
    assert namespace["f"](0) == "changed" and len(compiled) == 2


def test_a_cache_that_cannot_be_written_costs_a_compile_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "module.py"
    source.write_text("VALUE: int = 3\n")
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setattr(fast_start, "_kept", lambda fullname: blocked / "kept" / f"{fullname}.bin")
    namespace: dict[str, Any] = {}
    exec(fast_start._DeferredAnnotationsLoader("pulumi_aws.m", str(source)).get_code("pulumi_aws.m"), namespace)
    assert namespace["VALUE"] == 3


def test_the_finder_leaves_every_module_but_the_sdks_to_the_interpreter() -> None:
    import tapstack

    finder = fast_start._SdkFinder()
    assert finder.find_spec("tapstack.graph", list(tapstack.__path__)) is None
    assert finder.find_spec("tapstackish", None) is None and finder.find_spec("json", None) is None
    import pulumi_aws

    spec = finder.find_spec("pulumi_aws.s3", list(pulumi_aws.__path__))
    assert spec is not None and isinstance(spec.loader, fast_start._ServicePackageLoader)


def test_a_command_run_with_the_tricks_gives_the_collector_and_the_import_system_back(tmp_path: Path) -> None:
    import gc

    from tapstack.cli import main

    finders = list(sys.meta_path)
    before = gc.isenabled()
    assert main(["synth", "--out", str(tmp_path / "graph.json")], fast=True) == 0
    assert (gc.isenabled(), sys.meta_path) == (before, finders)


def test_applied_turns_the_collector_off_and_the_finder_on_only_for_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    monkeypatch.delitem(sys.modules, fast_start.SDK)  # as in a fresh CLI process, before the SDK is imported
    gc.enable()
    with fast_start.applied():
        assert not gc.isenabled()
        assert any(isinstance(f, fast_start._SdkFinder) for f in sys.meta_path)
    assert gc.isenabled()
    assert not any(isinstance(f, fast_start._SdkFinder) for f in sys.meta_path)


def test_a_command_the_process_leaves_after_keeps_the_collector_off_but_removes_the_finder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gc

    monkeypatch.delitem(sys.modules, fast_start.SDK)
    gc.enable()
    try:
        with fast_start.applied(leaving=True):
            assert not gc.isenabled()
        assert not gc.isenabled()
        assert not any(isinstance(f, fast_start._SdkFinder) for f in sys.meta_path)
    finally:
        gc.enable()


def test_the_off_switch_applies_no_trick(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    monkeypatch.setenv(fast_start.SWITCH, "0")
    monkeypatch.delitem(sys.modules, fast_start.SDK)
    gc.enable()
    with fast_start.applied():
        assert gc.isenabled()
        assert not any(isinstance(f, fast_start._SdkFinder) for f in sys.meta_path)


ENTRY = """
import atexit, sys
def report():
    print("fast_start imported:", "tapstack.cli.fast_start" in sys.modules)
    print("ec2.ami loaded:", "pulumi_aws.ec2.ami" in sys.modules)
atexit.register(report)
sys.argv = ["tapstack", *sys.argv[1:]]
from tapstack.cli import entry
entry()
"""


def _entry(*argv: str, switch: str = "1") -> list[str]:
    env = {**os.environ, fast_start.SWITCH: switch}
    done = subprocess.run([sys.executable, "-c", ENTRY, *argv], capture_output=True, text=True, cwd=ROOT, env=env)
    return done.stdout.splitlines()[-2:]


def test_the_console_script_loads_the_sdk_lazily_once_its_arguments_parse() -> None:
    assert _entry("synth") == ["fast_start imported: True", "ec2.ami loaded: False"]


def test_with_the_off_switch_the_console_script_loads_the_sdk_its_own_way() -> None:
    assert _entry("synth", switch="0")[-1] == "ec2.ami loaded: True"


def test_the_console_script_synthesizes_the_same_with_and_without_the_tricks() -> None:
    argv = ["synth", "--json", "--config", "examples/two-region/Pulumi.dev.yaml"]
    script = Path(sys.executable).parent / "tapstack"
    answers = [
        subprocess.run(
            [str(script), *argv], capture_output=True, text=True, cwd=ROOT, env={**os.environ, fast_start.SWITCH: s}
        )
        for s in ("1", "0")
    ]
    with_tricks, without = ({**json.loads(a.stdout), "seconds": None} for a in answers)
    assert with_tricks == without
    assert [a.returncode for a in answers] == [0, 0] and with_tricks["resources"] > 100


@pytest.mark.parametrize("argv", [["--help"], ["synth", "--bogus"]])
def test_help_and_usage_errors_leave_before_the_lazy_loader_is_even_imported(argv: list[str]) -> None:
    assert _entry(*argv) == ["fast_start imported: False", "ec2.ami loaded: False"]


def test_threads_asking_for_names_at_once_each_get_theirs(
    fake_package: ModuleType,
) -> None:
    import threading

    barrier = threading.Barrier(6)
    found: list[str] = []

    def ask(name: str) -> None:
        barrier.wait()
        found.append(getattr(fake_package, name).__name__)

    threads = [threading.Thread(target=ask, args=(name,)) for name in ("Zed", "Beta", "Gamma") * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(found) == ["Beta", "Beta", "Gamma", "Gamma", "Zed", "Zed"]
