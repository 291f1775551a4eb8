"""What each program that ships apart carries of the contract: ``tapstack/contract.py`` beside its own package.

The Lambda archive and the agent bundle hold ``tapstack/__init__.py`` (a docstring) and ``tapstack/contract.py``
at their root, so ``from tapstack.contract import ...`` in the handler and the agent resolves inside the bundle,
to the very file the release tool and the tests import here.
"""

from __future__ import annotations

from pathlib import Path

from .. import contract

PACKAGE_DIR = Path(contract.__file__).resolve().parent


def contract_files() -> dict[str, Path]:
    """Bundle path -> source file."""
    return {f"tapstack/{name}": PACKAGE_DIR / name for name in ("__init__.py", "contract.py")}
