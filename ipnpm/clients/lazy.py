"""requests, imported on first use: a run served from the store never loads the HTTP stack.

``from ipnpm.clients.lazy import requests`` stands for the module. Its first attribute read
(``requests.Session()``, or ``requests.RequestException`` in an ``except`` clause once an
exception reaches it) imports requests, which takes longer than the rest of ipnpm's start-up;
type checkers see the module itself. Annotations are never evaluated
(``from __future__ import annotations``), so ``requests.Response`` in a signature costs nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["requests"]


class _LazyModule:
    """A module imported at the first attribute read: ``import`` holds the import lock, so a
    first use from two threads at once imports it once and both see it whole."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)


if TYPE_CHECKING:
    import requests
else:
    requests = _LazyModule("requests")
