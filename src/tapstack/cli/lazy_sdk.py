"""How the CLI's own process loads pulumi_aws: only the modules it uses, their annotations left unevaluated.

Each service package's ``__init__`` star-imports every module of the service before the first class can be
used: ``aws.ec2.Vpc`` executes all 180 ec2 modules, 700 across the eleven services the program touches, where
it needs 46. Their class bodies (typing generics, forward references, input/output type decorators) were 0.28 s
of a 1.0 s synth. :func:`install` swaps the loader of those packages for one that runs the same ``__init__``
without the star-imports of resource modules and resolves each public name on first access from the module
that exports it, so the program gets the very same class objects. The shared ``_enums``/``_inputs``/``outputs``
modules load as before. A package whose ``__init__`` has any other statement loads exactly as the SDK's own
loader would.

The modules themselves are compiled as if they began with ``from __future__ import annotations``: evaluating
the signatures' ``pulumi.Input[Optional[...]]`` generics was most of what importing them cost (synth 0.82 s ->
0.77 s, medians of 9). The SDK reads those annotations only through ``typing.get_type_hints``, which evaluates
the strings to the same types; no generated class outside the ``TypedDict``s declares class-level annotations
(the one other place the SDK looks, tests/unit/cli/test_lazy_sdk.py checks every module the program loads), and
the ``TypedDict``s exist for type checkers only. The compiled code is kept under ``build/`` keyed by the
source's path, size and modification time, also where ``PYTHONDONTWRITEBYTECODE`` is set: it is TapStack's build
output, not the interpreter's ``__pycache__``, and compiling ec2's 1.3 MB of inputs on every run would cost more
than the whole change saves.

Where the interpreter is told to write no bytecode, TapStack's own modules are kept there too (compiled as Python
compiles them): an editable install would otherwise compile them on every run.

Only :func:`tapstack.cli.entry` installs it: tests, ``pulumi up`` and any other importer of TapStack keep the
SDK's own loading.
"""

from __future__ import annotations
import __future__

import functools
import importlib
import importlib.machinery
import marshal
import os
import re
import sys
import threading
from collections.abc import Sequence
from types import CodeType, ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

SDK = "pulumi_aws"
OWN = "tapstack"
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
    generated modules' ``__all__`` lists do not overlap: tests/unit/cli/test_lazy_sdk.py checks the installed
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


def _forward_reference_text(source: str, filename: str, mode: str) -> str:
    """typing's ``compile`` while SDK modules execute: a forward reference keeps its text as its code.

    ``ForwardRef`` compiles its text when created and only ever uses the result in ``eval``, which takes the text
    as well; a ``TypedDict`` makes one per field, 2,500 for the program's modules, never evaluated at run time.
    """
    return source


@functools.cache
def _reference_code(source: str, filename: str, mode: str) -> CodeType:
    """typing's ``compile`` once the SDK's modules are loaded: one code object per forward reference's text.

    The SDK resolves each resource's and output type's annotations with ``get_type_hints`` on first use, and
    every call compiles its strings anew: 1,900 forward references of 570 texts in a three-region synth (the
    same ``pulumi.Output[_builtins.str]`` on hundreds of properties). Code objects are immutable, so one serves
    them all (in-process get_type_hints 58 -> 49 ms; whole-process synth -1.6%, medians of 15).
    """
    code: CodeType = compile(source, filename, mode)
    return code


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
    """The SDK's source loader, compiling with postponed evaluation of annotations (PEP 563), and executing with
    :func:`_forward_reference_text` as typing's ``compile`` (whole-process 3-region synth 0.76 s -> 0.71 s,
    medians of 15), and :func:`_reference_code` once none is. The count of modules executing is shared by threads
    without a lock: a race could only leave forward references compiled, or kept as text, a little longer; either
    evaluates to the same type."""

    flags = _ANNOTATIONS
    _executing = 0

    def exec_module(self, module: ModuleType) -> None:
        import typing

        _DeferredAnnotationsLoader._executing += 1
        vars(typing)["compile"] = _forward_reference_text
        try:
            super().exec_module(module)
        finally:
            _DeferredAnnotationsLoader._executing -= 1
            if _DeferredAnnotationsLoader._executing == 0:
                vars(typing)["compile"] = _reference_code


class _SdkFinder:
    """Finds pulumi_aws's modules as the path finder does and hands them to the loaders above: a service
    package (``pulumi_aws.<service>``) to :class:`_ServicePackageLoader`, any module to
    :class:`_DeferredAnnotationsLoader`. Where the interpreter writes no bytecode (``PYTHONDONTWRITEBYTECODE``,
    ``-B``), TapStack's own modules go to :class:`_KeptCodeLoader`: an editable install otherwise compiles its
    46 modules (285 KB) on every run, 4% of a synth. (A meta path finder needs only ``find_spec``; importlib.abc
    would cost `tapstack --help` 12 ms of imports.)"""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        own = fullname.startswith(f"{OWN}.")
        if not (fullname.startswith(f"{SDK}.") or (own and sys.dont_write_bytecode)):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.origin, str) or not spec.origin.endswith(".py"):
            return spec
        if own:
            spec.loader = _KeptCodeLoader(fullname, spec.origin)
        elif spec.submodule_search_locations is None:
            spec.loader = _DeferredAnnotationsLoader(fullname, spec.origin)
        elif fullname.count(".") == 1:
            spec.loader = _ServicePackageLoader(fullname, spec.origin)
        return spec


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
