"""Which release each sandbox host should run, and which running hosts run the wrong one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .addressing import host_name
from .releases import DEFAULT
from .state import SandboxHost


def release_for(name: str, asked: Mapping[str, str], default: str | None) -> str:
    """Return the release a host boots: named in ``asked``, else ``default``, else bookworm."""
    return asked.get(name) or default or DEFAULT


def expected(host: SandboxHost, asked: Mapping[str, str], default: str | None, count: int) -> str | None:
    """Return the release a running host must run, or None when any will do.

    A host named in ``asked`` must run its release; with ``default`` given, so must hosts 1..count
    not named; every other running host keeps the release it was booted with.
    """
    if host.name in asked:
        return asked[host.name]
    if default is not None and host.index <= count:
        return default
    return None


def stale(hosts: Sequence[SandboxHost], asked: Mapping[str, str], default: str | None, count: int) -> list[SandboxHost]:
    """Return the running hosts whose release is not the one asked for (they are booted again)."""
    return [h for h in hosts if expected(h, asked, default, count) not in (None, h.release)]


def new_releases(have: set[int], count: int, asked: Mapping[str, str], default: str | None) -> dict[int, str]:
    """Return index -> release of the hosts 1..count that do not run yet."""
    return {i: release_for(host_name(i), asked, default) for i in range(1, count + 1) if i not in have}
