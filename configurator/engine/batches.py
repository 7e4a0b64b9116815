"""Batch planning as data: hosts and their groups' rollout settings in, lanes of batches out.

Every group that orders its hosts (`serial`, `after:` or batch hooks) is a lane: its batches run one
after the other, side by side with the other lanes. A host in several such groups rolls with the
strictest (a `serial` group before one without, then the smallest first batch) and runs once. Hosts
of no such group form one batch that starts at once. A batch waits for the hosts named by the
`after:` of its hosts' groups; a wait that can never end (hosts shared across waiting groups) is bad input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from configurator.errors import InputError
from configurator.model.rolling import Hook, Percent, Rolling, Size

AT_ONCE = ""  # the lane of hosts that wait for nothing


@dataclass(frozen=True)
class Wait:
    """Hosts that must have finished before a batch starts, and whether one failing skips it."""

    group: str
    hosts: tuple[str, ...]
    success: bool = False  # after_success: a failed or unreachable host of `group` skips the batch


@dataclass(frozen=True)
class Batch:
    """One batch of one lane."""

    group: str
    index: int  # 1-based
    count: int  # batches in the lane
    hosts: tuple[str, ...]
    waits: tuple[Wait, ...] = ()

    @property
    def label(self) -> str:
        """`apps 2/3`, or `at once` for hosts that wait for nothing."""
        return f"{self.group} {self.index}/{self.count}" if self.group != AT_ONCE else "at once"


@dataclass(frozen=True)
class Lane:
    """A group's batches in order, its failure budget and its batch hooks."""

    group: str
    batches: tuple[Batch, ...]
    max_fail: int  # failed hosts of this lane tolerated; more skip its later batches
    before: tuple[Hook, ...] = ()
    after: tuple[Hook, ...] = ()

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(h for b in self.batches for h in b.hosts)


def plan(hosts: Sequence[str], groups_of: Mapping[str, Sequence[str]],
         rolling: Mapping[str, Rolling]) -> tuple[Lane, ...]:
    """The lanes for `hosts` (in run order); `groups_of` gives each host's groups, `rolling` each group's
    settings in inventory order."""
    members = {g: tuple(h for h in hosts if g in groups_of.get(h, ())) for g in rolling}
    owner = {h: _strictest(groups_of.get(h, ()), rolling, members) for h in hosts}
    lanes: list[Lane] = []
    free = tuple(h for h in hosts if owner[h] == AT_ONCE)
    if free:
        lanes.append(Lane(AT_ONCE, (Batch(AT_ONCE, 1, 1, free),), len(free)))
    for group, spec in rolling.items():
        own = tuple(h for h in hosts if owner[h] == group)
        if own:
            lanes.append(_lane(group, spec, own, groups_of, rolling, members))
    _no_deadlock(lanes, rolling)
    return tuple(lanes)


def sizes(ramp: Sequence[Size], total: int) -> list[int]:
    """The batch sizes that split `total` hosts along `ramp` (the last size repeats; a percentage
    is of `total`, rounded down, at least 1)."""
    if not ramp:
        return [total] if total else []
    found: list[int] = []
    while sum(found) < total:
        step = ramp[min(len(found), len(ramp) - 1)]
        wanted = max(1, step.of(total)) if isinstance(step, Percent) else step
        found.append(min(wanted, total - sum(found)))
    return found


def budget(max_fail: int | Percent, total: int) -> int:
    """Failed hosts tolerated out of `total` (a percentage rounds down)."""
    return max_fail.of(total) if isinstance(max_fail, Percent) else max_fail


def _strictest(groups: Sequence[str], rolling: Mapping[str, Rolling], members: Mapping[str, tuple[str, ...]]) -> str:
    """The group a host rolls with: a serial group before others, then the smallest first batch."""
    ordered = [g for g in rolling if g in groups and rolling[g].ordered]
    if not ordered:
        return AT_ONCE

    def strictness(group: str) -> tuple[int, int]:
        ramp = rolling[group].ramp
        first = sizes(ramp, len(members[group]))[:1] if ramp else []
        return (0, first[0]) if first else (1, 0)

    return min(ordered, key=strictness)  # min keeps the first in inventory order on a tie


def _lane(group: str, spec: Rolling, own: tuple[str, ...], groups_of: Mapping[str, Sequence[str]],
          rolling: Mapping[str, Rolling], members: Mapping[str, tuple[str, ...]]) -> Lane:
    split = sizes(spec.ramp, len(own))
    starts = [sum(split[:i]) for i in range(len(split))]
    parts = [own[start:start + n] for start, n in zip(starts, split, strict=True)]
    waits = [_waits(part, groups_of, rolling, members) for part in parts]
    waits = [waits[0], *(_new(w, waits[0]) for w in waits[1:])] if waits else []  # the first batch waited
    batches = tuple(Batch(group, i + 1, len(parts), part, waits[i]) for i, part in enumerate(parts))
    return Lane(group, batches, budget(spec.max_fail, len(own)), spec.before_hooks, spec.after_hooks)


def _waits(part: Sequence[str], groups_of: Mapping[str, Sequence[str]], rolling: Mapping[str, Rolling],
           members: Mapping[str, tuple[str, ...]]) -> tuple[Wait, ...]:
    """What the batch of `part` waits for: the `after:` groups of each of its hosts' groups, without
    the waiting group's own hosts."""
    found: dict[tuple[str, bool], list[str]] = {}
    for waiting in (g for g in rolling if any(g in groups_of.get(h, ()) for h in part)):
        spec = rolling[waiting]
        for dep in spec.after:
            hosts = found.setdefault((dep, spec.after_success), [])
            hosts += [h for h in members.get(dep, ()) if h not in members[waiting] and h not in hosts]
    return tuple(Wait(dep, tuple(hosts), success) for (dep, success), hosts in found.items() if hosts)


def _new(waits: tuple[Wait, ...], first: tuple[Wait, ...]) -> tuple[Wait, ...]:
    """The waits of a later batch that its lane's first batch did not already wait for."""
    done = {(w.group, w.success): set(w.hosts) for w in first}
    return tuple(w for w in waits if not set(w.hosts) <= done.get((w.group, w.success), set()))


def _no_deadlock(lanes: Sequence[Lane], rolling: Mapping[str, Rolling]) -> None:
    """Refuse a plan where a batch would wait, directly or not, for itself."""
    batch_of = {h: (lane.group, b.index) for lane in lanes for b in lane.batches for h in b.hosts}
    edges: dict[tuple[str, int], set[tuple[str, int]]] = {}
    for lane in lanes:
        for b in lane.batches:
            before = {(lane.group, b.index - 1)} if b.index > 1 else set()
            edges[(lane.group, b.index)] = before | {batch_of[h] for w in b.waits for h in w.hosts}
    state: dict[tuple[str, int], int] = {}

    def visit(node: tuple[str, int]) -> None:
        state[node] = 1
        for nxt in edges.get(node, ()):
            if state.get(nxt) == 1:
                raise InputError(f"group {node[0]} would wait for its own hosts: its `after:` groups share hosts "
                                 f"with groups that roll after it", rolling[node[0]].where)
            if nxt not in state:
                visit(nxt)
        state[node] = 2

    for node in edges:
        if node not in state:
            visit(node)
