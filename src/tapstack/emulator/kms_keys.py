"""moto's KMS keys with their asymmetric key pair made on first use instead of at creation.

moto gives every KMS key a private key for ``Sign``/``Verify``/``GetPublicKey``, and for a symmetric key (every
key TapStack makes, and the EBS default key moto adds when an instance launches with an encrypted volume) that is
a fresh RSA-2048 key: 50-150 ms of CPU per key, six in a three-region ``up --local``, for a key pair no
operation on a symmetric key reads (AWS refuses ``Sign`` and ``GetPublicKey`` on one). Here the key pair is made
the first time anything uses it, by moto's own ``generate_private_key``, so every operation answers as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .patches import mark


class KeyPairOnFirstUse:
    """Stands in for moto's private key object; makes it (once, thread-safely) when first used."""

    def __init__(self, make: Callable[[str], Any], key_spec: str) -> None:
        self._make = make
        self._key_spec = key_spec
        self._made: Any = None
        self._lock = threading.Lock()

    def made(self) -> Any:
        with self._lock:
            if self._made is None:
                self._made = self._make(self._key_spec)
            return self._made

    def __getattr__(self, name: str) -> Any:
        return getattr(self.made(), name)


_installed = False


def install() -> None:
    """Make moto's new KMS keys defer their key pair (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.kms import models

    namespace: dict[str, Any] = vars(models)  # the name moto's Key.__init__ calls
    make = namespace["generate_private_key"]
    namespace["generate_private_key"] = mark(lambda key_spec: KeyPairOnFirstUse(make, key_spec), make)
    _installed = True
