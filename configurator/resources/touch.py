"""What a resource's probe reads and what its change writes on a host, declared per resource.

The engine re-probes after a change only the resources whose reads meet what the change wrote,
and runs consecutive changes that cannot affect each other's plans in one script. A `Touch` is a
(kind, name) pair:

- ("path", "/etc/x"): the entry itself (its type, metadata, content);
- ("tree", "/srv/app"): the entry and everything beneath it (a removal, a symlink, an unpacked tree);
- ("package", "nginx"), ("user", "app"), ("group", "app"), ("unit", "nginx.service"), ("sysctl", ...),
  ("mount", "/srv") and any other kind a type names;
- name "*": every name of that kind; kind "*": anything at all (EVERYTHING, the safe default, and
  what a package transaction writes: maintainer scripts may create files, users and units anywhere).

Paths are compared as written: two resources naming one file through different symlinks are not
seen as touching the same file.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

Touch = tuple[str, str]  # (kind, name)

ANY = "*"
EVERYTHING: frozenset[Touch] = frozenset({(ANY, ANY)})
PATH_KINDS = frozenset({"path", "tree"})


@dataclass(frozen=True)
class Touches:
    """What a resource's probe reads and what its change may write (both EVERYTHING unless declared)."""

    reads: frozenset[Touch] = EVERYTHING
    writes: frozenset[Touch] = EVERYTHING


def touches(reads: Iterable[Touch], writes: Iterable[Touch]) -> Touches:
    """A declaration from any iterables of touches."""
    return Touches(frozenset(reads), frozenset(writes))


def owners(owner: str | None, group: str | None) -> frozenset[Touch]:
    """The accounts a path's wanted owner and group name (stat shows their names)."""
    return frozenset({("user", owner)} if owner else set()) | frozenset({("group", group)} if group else set())


def with_parents(path: str) -> frozenset[Touch]:
    """A path and every directory above it (what `mkdir -p` may create)."""
    found: set[Touch] = set()
    current = posixpath.normpath(path)
    while current not in ("/", "", "."):
        found.add(("path", current))
        current = posixpath.dirname(current)
    return frozenset(found)


def overlaps(reads: Iterable[Touch], writes: Iterable[Touch]) -> bool:
    """Whether anything written may change what was read."""
    written = list(writes)
    return any(meets(read, write) for read in reads for write in written)


def meets(first: Touch, second: Touch) -> bool:
    """Whether two touches may concern the same thing on the host."""
    if ANY in (first[0], second[0]):
        return True
    if first[0] in PATH_KINDS and second[0] in PATH_KINDS:
        return _paths_meet(first, second)
    return first[0] == second[0] and (first[1] == second[1] or ANY in (first[1], second[1]))


def _paths_meet(first: Touch, second: Touch) -> bool:
    if ANY in (first[1], second[1]):
        return True
    one, two = posixpath.normpath(first[1]), posixpath.normpath(second[1])
    if one == two:
        return True
    return (first[0] == "tree" and _beneath(two, one)) or (second[0] == "tree" and _beneath(one, two))


def _beneath(path: str, top: str) -> bool:
    return path.startswith(top.rstrip("/") + "/")


# where systemd reads unit files and drop-ins: a write there changes what `systemctl show` says
UNIT_FOLDERS = ("/etc/systemd", "/run/systemd", "/lib/systemd", "/usr/lib/systemd", "/etc/init.d")
