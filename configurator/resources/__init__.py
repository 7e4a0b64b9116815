"""Resource types: each a frozen value with probe → plan → checks, registered by name.

A run's `Registry` adds a project's own types (see `plugins`) to the built-in TYPES, which never change.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field
from typing import Any

from configurator.resources.base import Resource

# type name in role.yml -> "module:Class" under configurator.resources, each a subclass of
# resources.base.Resource. Classes load on first use, so a run imports only the kinds it uses.
TYPES: dict[str, str] = {
    "package": "package:Package",
    "service": "service:Service",
    "file": "file:File",
    "template": "template:Template",
    "directory": "file:Directory",
    "link": "link:Link",
    "line": "line:Line",
    "user": "user:User",
    "group": "group:Group",
    "command": "command:Command",
    "sysctl": "sysctl:Sysctl",
    "cron": "cron:Cron",
    "block": "block:Block",
    "release": "release:Release",
    "zone": "zone:Zone",
    "nftables": "nftables:Nftables",
    "git": "git:Git",
    "download": "download:Download",
    "archive": "archive:Archive",
    "apt_source": "apt_source:AptSource",
    "mount": "mount:Mount",
    "unit": "unit:Unit",
    "unit_template": "unit:UnitTemplate",
    "reboot": "reboot:Reboot",
}


@functools.cache  # TYPES is fixed: the catalog asks once per resource of every host
def type_named(name: str) -> type[Resource[Any]]:
    """The built-in class registered as `name`: `type_named("package")` is `Package`."""
    module, _, cls = TYPES[name].partition(":")
    found = vars(importlib.import_module(f"configurator.resources.{module}"))[cls]
    if not (isinstance(found, type) and issubclass(found, Resource)):
        raise TypeError(f"resource type {name!r} ({TYPES[name]}) is not a subclass of Resource")
    return found


def all_types() -> dict[str, type[Resource[Any]]]:
    """Every built-in name with its class (imports them all)."""
    return {name: type_named(name) for name in TYPES}


@dataclass(frozen=True)
class Registry:
    """The resource types one run knows: the built-ins, plus a project's plugins with the file each came from."""

    plugins: dict[str, type[Resource[Any]]] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)  # plugin type name -> its file (and entry point)

    def __contains__(self, name: object) -> bool:
        return name in TYPES or name in self.plugins

    def names(self) -> list[str]:
        """Every type name, sorted."""
        return sorted({*TYPES, *self.plugins})

    def named(self, name: str) -> type[Resource[Any]]:
        """The class of type `name` (a built-in loads on first use)."""
        return self.plugins[name] if name in self.plugins else type_named(name)

    def classes(self) -> dict[str, type[Resource[Any]]]:
        """Every name with its class (imports every built-in)."""
        return {name: self.named(name) for name in self.names()}


BUILT_IN = Registry()  # frozen and empty: no plugin can be added to it
