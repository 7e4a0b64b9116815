"""An Ansible inventory as read (INI, YAML or a script's JSON), before it becomes configurator's own shape.

Every group, host and variable keeps the file:line it was written on, so that the inventory's own
checks (configurator.model.inventory) report Ansible files exactly as they report configurator's.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from pathlib import Path

from configurator.errors import InputError, Location
from configurator.model.loader import Mapping, Placed, Written, placed

__all__ = ["Draft", "DraftGroup", "Placed", "Written", "expand", "from_mapping", "placed"]

MAX_HOSTS = 100_000  # one range, or a whole inventory, expands to at most this many hosts
_RANGE = re.compile(r"\[([^\[\]:]*):([^\[\]:]*)(?::([^\[\]:]*))?\]")


@dataclass
class DraftGroup:
    """A group as written: its own hosts and children (in order) and its vars."""

    name: str
    where: Location
    hosts: dict[str, Location] = field(default_factory=dict)  # in order, each where first listed
    children: dict[str, Location] = field(default_factory=dict)
    vars: dict[str, Written] = field(default_factory=dict)

    def add_host(self, name: str, at: Location) -> None:
        self.hosts.setdefault(name, at)

    def add_child(self, name: str, at: Location) -> None:
        self.children.setdefault(name, at)


@dataclass
class Draft:
    """Groups (with `all`), hosts in the order first written, and each host's own vars."""

    path: Path
    groups: dict[str, DraftGroup] = field(default_factory=dict)
    hosts: dict[str, Location] = field(default_factory=dict)
    host_vars: dict[str, dict[str, Written]] = field(default_factory=dict)

    def group(self, name: str, at: Location) -> DraftGroup:
        """The group `name`, made on first mention."""
        if name not in self.groups:
            self.groups[name] = DraftGroup(name, at)
        return self.groups[name]

    def host(self, name: str, at: Location, group: str = "ungrouped") -> dict[str, Written]:
        """Record `name` in `group`; its vars to update."""
        if name not in self.hosts:
            if len(self.hosts) >= MAX_HOSTS:
                raise InputError(f"more than {MAX_HOSTS} hosts", at)
            self.hosts[name] = at
        self.group(group, at).add_host(name, at)
        return self.host_vars.setdefault(name, {})


def from_mapping(data: Mapping) -> dict[str, Written]:
    """(value, location) pairs of a loaded YAML mapping."""
    return {key: (value, data.where_of(key)) for key, value in data.items()}


def expand(pattern: str, at: Location) -> list[str]:
    """A host pattern with ranges, `web[01:20].example.com` or `db-[a:f]`, as its host names."""
    match = _RANGE.search(pattern)
    if not match:
        return [pattern]
    head, tail = pattern[:match.start()], pattern[match.end():]
    rest = expand(tail, at)
    first, last, step = match.group(1), match.group(2), match.group(3)
    names = [head + item + end for item in _items(first, last, step, pattern, at) for end in rest]
    if len(names) > MAX_HOSTS:
        raise InputError(f"host range {pattern!r} gives more than {MAX_HOSTS} hosts", at)
    return names


def _items(first: str, last: str, step: str | None, pattern: str, at: Location) -> list[str]:
    """The items of one `[first:last(:step)]` range: numbers (zero-padded as written) or letters."""
    stride = int(step) if step and step.isdigit() else (1 if not step else 0)
    if stride < 1:
        raise InputError(f"host range {pattern!r}: the step must be a whole number above 0", at)
    if first.isdigit() and last.isdigit():
        low, high = int(first), int(last)
        width = len(first) if first.startswith("0") else 0
        if high < low or (high - low) // stride >= MAX_HOSTS:
            raise InputError(f"host range {pattern!r} is empty or too large", at)
        return [str(n).zfill(width) for n in range(low, high + 1, stride)]
    letters = string.ascii_letters
    if len(first) == 1 and len(last) == 1 and first in letters and last in letters and first <= last:
        return list(letters[letters.index(first):letters.index(last) + 1:stride])
    raise InputError(f"host range {pattern!r} is not [NUMBER:NUMBER] nor [LETTER:LETTER]", at,
                     "e.g. web[01:20].example.com or db-[a:f]")
