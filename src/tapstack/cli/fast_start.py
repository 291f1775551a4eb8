"""The CLI's start-up tricks, all here, each kept because it saves at least 5% of a whole-process synth.

``TAPSTACK_FAST_START=0`` turns every one of them off. :func:`applied` applies them for one command and
restores what each changed when the command ends, so tests that run commands in-process get their process back.
Only :func:`tapstack.cli.entry` applies them: tests, ``pulumi up`` and any other importer of TapStack keep the
SDK's own loading and the interpreter's own collector.

1. **The cyclic garbage collector is off while the command runs** (34% of the CPU of a whole-process synth of the
   three-region example). A synth allocates hundreds of thousands of short-lived objects that
   reference counting frees; the collector only re-walks them. Commands that keep serving (``up --keep``) turn
   it back on. The entry point then leaves with ``os._exit``: tearing the interpreter down frees for nothing, and
   so does turning the collector back on first (its first pass walks the whole synth: 11% of the same CPU), so
   ``applied(leaving=True)`` leaves it off.
2. **pulumi_aws loads only the modules a command uses** (7%). Each service package's
   ``__init__`` star-imports every module of the service before the first class can be used (``aws.ec2.Vpc``
   executes all 180 ec2 modules). The service packages' loader runs the same ``__init__`` without the
   star-imports of resource modules and resolves each public name on first access from the module that exports
   it, so the program gets the very same class objects. A package whose ``__init__`` has any other statement
   loads exactly as the SDK's own loader would.
3. **The SDK's modules are compiled with postponed annotations** (PEP 563; 7%): evaluating
   the signatures' ``pulumi.Input[Optional[...]]`` generics is most of what importing them costs. The SDK reads
   those annotations only through ``typing.get_type_hints``, which evaluates the strings to the same types; no
   generated class outside the ``TypedDict``s declares class-level annotations (tests/unit/cli/test_fast_start.py
   checks every module the program loads). The compiled code is kept under ``build/bytecode`` keyed by the
   source's path, size and modification time, also where ``PYTHONDONTWRITEBYTECODE`` is set: it is compiled
   with a flag the interpreter's ``__pycache__`` does not record, and compiling ec2's 1.3 MB of inputs on every
   run would cost more than the trick saves.
"""

from __future__ import annotations
import __future__

import contextlib
import functools
import gc
import importlib
import importlib.machinery
import marshal
import os
import re
import sys
import threading
from collections.abc import Iterator, Sequence
from types import CodeType, ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

SDK = "pulumi_aws"
_ANNOTATIONS = __future__.annotations.compiler_flag
_FORMAT = 2
"""Part of every kept module's stamp: raise it when what is compiled, or how, changes."""

_STAR = re.compile(r"^from \.(\w+) import \*$")
_HEADER = frozenset(
    {"import builtins as _builtins", "from .. import _utilities", "import typing", "from . import outputs"}
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_AFFIXES = (("awaitable_", "_result"), ("", "_result"), ("", "_init_args"), ("", "_args"), ("", "_output"))
"""What the generator adds to a module's name for the other names it exports (``get_ami`` ->
``AwaitableGetAmiResult``, ``bucket_logging`` -> ``BucketLoggingInitArgs``)."""


class Plan:
    """A service package's ``__init__`` split into what runs at import and the modules left for first use."""

    def __init__(self, eager: str, deferred: Sequence[str]) -> None:
        self.eager = eager
        self.deferred = list(deferred)


def plan(source: str) -> Plan | None:
    """Split a generated service ``__init__``; None if it holds anything but the generator's usual lines.

    Kept at import: the header and the star-imports of private modules (``_enums``, ``_inputs``), which resource
    modules import themselves anyway. Deferred: the star-imports of public modules, in their order.
    """
    eager: list[str] = []
    deferred: list[str] = []
    for line in source.splitlines():
        star = _STAR.match(line)
        if star and not star.group(1).startswith("_"):
            deferred.append(star.group(1))
        elif star or line in _HEADER or not line.strip() or line.startswith("#"):
            eager.append(line)
        else:
            return None
    return Plan("\n".join(eager) + "\n", deferred)


def guesses(name: str) -> list[str]:
    """The modules most likely to export ``name``, by the generator's naming: ``VpcEndpoint`` -> ``vpc_endpoint``.

    Every public name of the packages the program uses is guessed right (tested against the installed SDK); a
    wrong guess would only cost a scan, never a wrong answer (see :class:`_Resolver`).
    """
    snake = _CAMEL.sub("_", name).lower()
    found = [snake]
    for prefix, suffix in _AFFIXES:
        if snake.startswith(prefix) and snake.endswith(suffix) and len(snake) > len(prefix) + len(suffix):
            found.append(snake[len(prefix) : len(snake) - len(suffix)])
    return found


def _exports(module: ModuleType) -> dict[str, Any]:
    """What ``from module import *`` binds: ``__all__`` if the module has one, else its public names."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [name for name in vars(module) if not name.startswith("_")]
    return {name: getattr(module, name) for name in names}


class _Resolver:
    """The package's ``__getattr__``: runs the deferred star-import that binds ``name``, once.

    The guessed module is tried first; otherwise the remaining modules are imported in the ``__init__``'s order
    until one binds the name, so an unguessable name gets what the eager package would have bound (the
    generated modules' ``__all__`` lists do not overlap: tests/unit/cli/test_fast_start.py checks the installed
    SDK) and a name no module exports raises AttributeError after loading them all, as the eager package would.
    """

    def __init__(self, package: ModuleType, deferred: list[str]) -> None:
        self.package = package
        self.deferred = deferred
        self._lock = threading.RLock()  # re-entrant: a module being loaded may look a name up in its package

    def _load(self, submodule: str) -> None:
        self.deferred.remove(submodule)
        loaded = importlib.import_module(f"{self.package.__name__}.{submodule}")
        vars(self.package).update(_exports(loaded))

    def __call__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(f"module {self.package.__name__!r} has no attribute {name!r}")
        namespace = vars(self.package)
        with self._lock:
            if name in namespace:  # another thread loaded it while this one waited
                return namespace[name]
            for submodule in [guess for guess in guesses(name) if guess in self.deferred] + list(self.deferred):
                if submodule in self.deferred:
                    self._load(submodule)
                if name in namespace:
                    return namespace[name]
        raise AttributeError(f"module {self.package.__name__!r} has no attribute {name!r}")


class _ServicePackageLoader(importlib.machinery.SourceFileLoader):
    """The SDK's own source loader, except that a usual service ``__init__`` defers its public star-imports."""

    def exec_module(self, module: ModuleType) -> None:
        found = plan(self.get_source(module.__name__) or "")
        if found is None:
            super().exec_module(module)
            return
        code: CodeType = compile(found.eager, self.path, "exec")
        exec(code, vars(module))  # the package's own __init__ lines, read from its own file
        module.__getattr__ = _Resolver(module, found.deferred)  # type: ignore[method-assign]


@functools.cache
def _kept_root() -> Path:
    """``build/bytecode/<interpreter>``; first asked by :func:`install`, before the modules it imports (pathlib,
    build_dirs) could come through the finder that needs it."""
    from ..lib.build_dirs import build_root

    return build_root("bytecode") / sys.implementation.cache_tag


def _kept(fullname: str) -> Path:
    return _kept_root() / f"{fullname}.bin"


class _KeptCodeLoader(importlib.machinery.SourceFileLoader):
    """The source loader, with the compiled code kept under ``build/`` and stamped with the source's path, size and
    modification time (the interpreter's ``__pycache__`` stamps size and time)."""

    flags = 0
    """Compiler flags beyond what the source itself asks for."""

    def get_code(self, fullname: str) -> CodeType:
        about = os.stat(self.path)
        stamp = (_FORMAT, self.flags, self.path, about.st_mtime_ns, about.st_size)
        kept = _kept(fullname)
        try:
            kept_stamp, code = marshal.loads(kept.read_bytes())
            if kept_stamp == stamp and isinstance(code, CodeType):
                return code
        except (OSError, EOFError, ValueError, TypeError):
            pass  # not kept yet, or unreadable: compile it again
        compiled: CodeType = compile(self.get_data(self.path), self.path, "exec", flags=self.flags, dont_inherit=True)
        from ..lib.build_dirs import keep  # loaded by install(), before this loader could be asked for it

        keep(kept, marshal.dumps((stamp, compiled)))
        return compiled


class _DeferredAnnotationsLoader(_KeptCodeLoader):
    """The SDK's source loader, compiling with postponed evaluation of annotations (PEP 563)."""

    flags = _ANNOTATIONS


class _SdkFinder:
    """Finds pulumi_aws's modules as the path finder does and hands them to the loaders above: a service
    package (``pulumi_aws.<service>``) to :class:`_ServicePackageLoader`, any module to
    :class:`_DeferredAnnotationsLoader`. (A meta path finder needs only ``find_spec``; importlib.abc would cost
    `tapstack --help` 12 ms of imports.)"""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(f"{SDK}."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.origin, str) or not spec.origin.endswith(".py"):
            return spec
        if spec.submodule_search_locations is None:
            spec.loader = _DeferredAnnotationsLoader(fullname, spec.origin)
        elif fullname.count(".") == 1:
            spec.loader = _ServicePackageLoader(fullname, spec.origin)
        return spec


SWITCH = "TAPSTACK_FAST_START"


def enabled() -> bool:
    """Whether the tricks apply: always, unless ``TAPSTACK_FAST_START=0``."""
    return os.environ.get(SWITCH, "1") != "0"


def install() -> bool:
    """Defer resource modules for every service package imported from now on, and keep the compiled code of the
    modules the finder loads; False, and nothing installed, if the SDK is already in.

    pulumi_aws registers all its service packages (lazily) when it is first imported, so this must run before
    that; afterwards it changes nothing and says so.
    """
    if SDK in sys.modules:
        return False
    _kept_root()
    if not any(isinstance(finder, _SdkFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SdkFinder())
    return True


def uninstall() -> None:
    """New SDK modules load the SDK's own way again; those already loaded keep working (a deferred package's
    names still resolve, through the path finder)."""
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _SdkFinder)]


@contextlib.contextmanager
def applied(*, leaving: bool = False) -> Iterator[None]:
    """Every trick for the length of one command (none with ``TAPSTACK_FAST_START=0``), then undone; ``leaving``:
    the process ends right after the command (the console script), so the collector stays off."""
    if not enabled():
        yield
        return
    collecting = gc.isenabled()
    gc.disable()
    installed = install()
    try:
        yield
    finally:
        if installed:
            uninstall()
        if collecting and not leaving:
            gc.enable()
