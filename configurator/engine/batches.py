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
    members: dict[str, list[str]] = {g: [] for g in rolling}
    for host in hosts:
        for group in groups_of.get(host, ()):
            members.setdefault(group, []).append(host)
    rank = {g: _strictness(spec, len(members[g])) for g, spec in rolling.items() if spec.ordered}
    owner = {h: min((g for g in groups_of.get(h, ()) if g in rank), key=rank.__getitem__, default=AT_ONCE)
             for h in hosts}
    lanes: list[Lane] = []
    free = tuple(h for h in hosts if owner[h] == AT_ONCE)
    if free:
        lanes.append(Lane(AT_ONCE, (Batch(AT_ONCE, 1, 1, free),), len(free)))
    waits = _Waits(groups_of, rolling, {g: frozenset(m) for g, m in members.items()}, members)
    for group, spec in rolling.items():
        own = tuple(h for h in members[group] if owner[h] == group)
        if own:
            lanes.append(_lane(group, spec, own, waits))
    _no_deadlock(lanes, rolling)
    return tuple(lanes)


def sizes(ramp: Sequence[Size], total: int) -> list[int]:
    """The batch sizes that split `total` hosts along `ramp` (the last size repeats; a percentage
    is of `total`, rounded down, at least 1)."""
    if not ramp:
        return [total] if total else []
    found: list[int] = []
    left = total
    while left > 0:
        step = min(_size(ramp[min(len(found), len(ramp) - 1)], total), left)
        found.append(step)
        left -= step
    return found


def budget(max_fail: int | Percent, total: int) -> int:
    """Failed hosts tolerated out of `total` (a percentage rounds down)."""
    return max_fail.of(total) if isinstance(max_fail, Percent) else max_fail


def _size(step: Size, total: int) -> int:
    return max(1, step.of(total)) if isinstance(step, Percent) else step


def _strictness(spec: Rolling, total: int) -> tuple[int, int]:
    """How strictly a group rolls (smaller is stricter): serial before none, then the smaller first batch
    (on a tie, `min` keeps the host's first group in inventory order)."""
    return (0, _size(spec.ramp[0], total)) if spec.ramp else (1, 0)


def _lane(group: str, spec: Rolling, own: tuple[str, ...], waits: _Waits) -> Lane:
    parts: list[tuple[str, ...]] = []
    start = 0
    for n in sizes(spec.ramp, len(own)):
        parts.append(own[start:start + n])
        start += n
    found = [waits.of(part) for part in parts]
    found = [found[0], *(_new(w, found[0]) for w in found[1:])] if found else []  # the first batch waited
    batches = tuple(Batch(group, i + 1, len(parts), part, found[i]) for i, part in enumerate(parts))
    return Lane(group, batches, budget(spec.max_fail, len(own)), spec.before_hooks, spec.after_hooks)


class _Waits:
    """What a batch waits for: the `after:` groups of each of its hosts' groups, without the waiting
    group's own hosts (remembered per set of waiting groups: the batches of a lane mostly share one)."""

    def __init__(self, groups_of: Mapping[str, Sequence[str]], rolling: Mapping[str, Rolling],
                 member_sets: Mapping[str, frozenset[str]], members: Mapping[str, list[str]]) -> None:
        self.groups_of, self.rolling, self.sets, self.members = groups_of, rolling, member_sets, members
        self.known: dict[frozenset[str], tuple[Wait, ...]] = {}

    def of(self, part: Sequence[str]) -> tuple[Wait, ...]:
        waiting = frozenset(g for h in part for g in self.groups_of.get(h, ()) if self.rolling.get(g, _NONE).after)
        if waiting not in self.known:
            self.known[waiting] = self._compute(waiting)
        return self.known[waiting]

    def _compute(self, waiting: frozenset[str]) -> tuple[Wait, ...]:
        found: dict[tuple[str, bool], dict[str, None]] = {}
        for group in (g for g in self.rolling if g in waiting):
            spec = self.rolling[group]
            for dep in spec.after:
                hosts = found.setdefault((dep, spec.after_success), {})
                hosts.update(dict.fromkeys(h for h in self.members.get(dep, ()) if h not in self.sets[group]))
        return tuple(Wait(dep, tuple(hosts), success) for (dep, success), hosts in found.items() if hosts)


_NONE = Rolling()


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
    state: dict[tuple[str, int], int] = {}  # 1 on the current path, 2 done
    for root in edges:
        stack = [(root, iter(edges[root]))] if root not in state else []
        state.setdefault(root, 1)
        while stack:  # depth first without recursion: a lane may have thousands of batches
            node, todo = stack[-1]
            nxt = next(todo, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                raise InputError(f"group {node[0]} would wait for its own hosts: its `after:` groups share hosts "
                                 f"with groups that roll after it", rolling[node[0]].where)
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(edges[nxt])))
