"""Resource types: each a frozen value with probe → plan → checks, registered by name."""

from __future__ import annotations

import importlib

# type name in role.yml -> "module:Class" under configurator.resources; `template` is a File whose
# content is rendered locally. Classes load on first use, so a run imports only the kinds it uses.
TYPES: dict[str, str] = {
    "package": "package:Package",
    "service": "service:Service",
    "file": "file:File",
    "template": "file:File",
    "directory": "file:Directory",
    "link": "file:Link",
    "line": "line:Line",
    "user": "user:User",
    "group": "group:Group",
    "command": "command:Command",
    "sysctl": "sysctl:Sysctl",
    "cron": "cron:Cron",
    "block": "block:Block",
    "release": "release:Release",
    "zone": "zone:Zone",
}


def type_named(name: str) -> type:
    """The class registered as `name`: `type_named("package")` is `Package`."""
    module, _, cls = TYPES[name].partition(":")
    found: type = getattr(importlib.import_module(f"configurator.resources.{module}"), cls)
    return found


def all_types() -> dict[str, type]:
    """Every registered name with its class (imports them all)."""
    return {name: type_named(name) for name in TYPES}
