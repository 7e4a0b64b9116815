"""Sharded runs: `--shard K/N` keeps a stable slice of the targeted hosts, balanced within each rolling group.

Every shard process sees the same inventory and --limit, so each computes the same deal on its own: the
hosts of each rolling group (the lane a host rolls in; hosts that wait for nothing form one more) are
sorted by the SHA-256 of their name and dealt round-robin, starting at a shard that the group's own name
picks. Each host lands in exactly one shard, the same one on every machine and Python (no `hash()`), and
the shards of a `serial` group differ in size by one host at most.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from configurator.engine import rollout
from configurator.errors import InputError, Location
from configurator.model.inventory import Host, Inventory

_FORM = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`."""

    index: int
    count: int


def parse(text: str) -> Shard:
    """`K/N` with K in 1..N; anything else is bad input (exit 65)."""
    where = Location("--shard")
    found = _FORM.fullmatch(text)
    if found is None:
        raise InputError(f"{text!r} is not K/N", where, "e.g. --shard 2/4: the second of four shards")
    index, count = int(found[1]), int(found[2])
    if count < 1:
        raise InputError(f"{text!r}: N must be at least 1", where)
    if not 1 <= index <= count:
        raise InputError(f"{text!r}: K must be between 1 and {count}", where,
                         "shards count from 1: --shard 1/N ... --shard N/N")
    return Shard(index, count)


def digest(name: str) -> int:
    """A host or group name's place on the ring: its SHA-256 as a number (the same everywhere)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest(), "big")


def deal(groups: Mapping[str, Sequence[str]], count: int) -> dict[str, int]:
    """host -> its shard (1..count): each group's hosts, sorted by digest, dealt round-robin from a shard
    chosen by the group's name (so that many small groups do not all start on shard 1)."""
    shard_of: dict[str, int] = {}
    for group, hosts in groups.items():
        start = digest(group) % count
        ordered = sorted(hosts, key=lambda h: (digest(h), h))
        for position, host in enumerate(ordered):
            shard_of[host] = (start + position) % count + 1
    return shard_of


def select(hosts: Sequence[Host], inventory: Inventory, text: str | None) -> list[Host]:
    """The hosts of shard `text` (all of them without --shard), in their run order."""
    if text is None:
        return list(hosts)
    shard = parse(text)
    lanes = rollout.lanes_of(hosts, inventory)
    shard_of = deal({lane.group: lane.hosts for lane in lanes}, shard.count)
    return [h for h in hosts if shard_of[h.name] == shard.index]
