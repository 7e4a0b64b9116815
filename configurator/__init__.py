"""configurator: agentless server configuration over SSH."""

import importlib
import sys
from typing import Any

from configurator import startup

__version__ = "0.1.0"


class _InvokeOnUse:
    """Stands in for invoke inside paramiko.config until an ssh config's `Match exec` runs a command."""

    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module("invoke"), name)


def _paramiko_without_invoke() -> None:
    """Import paramiko without invoke, which it loads only for `Match exec` (~40 ms of every start)."""
    if "paramiko" in sys.modules or "invoke" in sys.modules:
        return
    sys.modules["invoke"] = None  # type: ignore[assignment]  # paramiko's optional import fails fast
    try:
        with startup.collector_paused():
            import paramiko.config
    finally:
        del sys.modules["invoke"]
    paramiko.config.invoke = _InvokeOnUse()  # type: ignore[attr-defined]


_paramiko_without_invoke()
