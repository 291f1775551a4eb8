"""What each program that ships apart carries of TapStack's shared modules, beside its own package.

The migration function's archive and the agent bundle hold ``tapstack/__init__.py`` (a docstring) and
``tapstack/contract.py`` at their root, so ``from tapstack.contract import ...`` in the handler and the agent
resolves inside the bundle, to the very file the release tool and the tests import here. Both functions' archives
also hold ``tapstack/runtime.py``, the runtime each function's explicit entry takes.
"""

from __future__ import annotations

from pathlib import Path

from .. import contract

PACKAGE_DIR = Path(contract.__file__).resolve().parent


def contract_files() -> dict[str, Path]:
    """Bundle path -> source file."""
    return {f"tapstack/{name}": PACKAGE_DIR / name for name in ("__init__.py", "contract.py")}


def runtime_files() -> dict[str, Path]:
    """Bundle path -> source file, for a Lambda function's archive."""
    return {f"tapstack/{name}": PACKAGE_DIR / name for name in ("__init__.py", "runtime.py")}
