"""Consecutive changes that cannot affect each other's plans, run as one script.

A change joins the script when nothing the changes before it write meets what its resource reads
(`Resource.touches`): its plan, made from the last probe, still holds when its turn comes. The
script stops at the first failing step and marks where each step began and where it failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from configurator.engine import hostpaths, probe
from configurator.engine.actions import Action, Upload, quote, snippet
from configurator.engine.plan import Planned, decide
from configurator.resources.base import PlanStatus, Resource
from configurator.resources.touch import Touch, overlaps


@dataclass(frozen=True)
class Chain:
    """A run of planned steps from one probe: ok steps and the changes (grouped as they run) among them."""

    items: list[Planned]
    groups: list[list[Planned]]
    writes: frozenset[Touch]


def reads(item: Planned) -> frozenset[Touch]:
    """What the step's resource read when it was probed."""
    return item.entry.resource.touches().reads


def writes(group: list[Planned]) -> frozenset[Touch]:
    """What a group's changes may write."""
    return frozenset(t for item in group for t in item.entry.resource.touches().writes)


def gather(planned: list[Planned], index: int) -> Chain:
    """The steps from `index` (a change) that can run in one script: each one's reads untouched by
    the writes of the changes before it (or foreseen, see `_foreseen`); a change that restarts the
    host ends the chain. Its items are the steps as they will run."""
    written: set[Touch] = set()
    groups: list[list[Planned]] = []
    items = list(planned[index:])
    end = 0
    while end < len(items):
        if written and overlaps(reads(items[end]), written):
            foreseen = _foreseen(items[end], [g for group in groups for g in group])
            if foreseen is None:
                break
            items[end] = foreseen
        item = items[end]
        if item.step.status == PlanStatus.OK:
            end += 1
            continue
        if item.step.status != PlanStatus.CHANGE or (groups and item.entry.resource.restarts_host() > 0):
            break
        group = _independent(batch(items, end), written)
        groups.append(group)
        written |= writes(group)
        end += len(group)
        if item.entry.resource.restarts_host() > 0:
            break
    return Chain(items[:end], groups, frozenset(written))


def _foreseen(item: Planned, changes: list[Planned]) -> Planned | None:
    """`item` planned on the state the last change that may affect it leaves, when that change has
    the same probe and reads (an edit of the same file) and can tell that state; else None."""
    touched = [c for c in changes if overlaps(reads(item), writes([c]))]
    last = touched[-1]
    resource, writer = item.entry.resource, last.entry.resource
    if (writer.probe() != resource.probe() or type(writer).parse is not type(resource).parse
            or reads(last) != reads(item) or last.observed is None):
        return None
    state = writer.predict(last.observed, last.step)
    return None if state is None else decide(item.entry, state)


def foresee(planned: list[Planned]) -> list[Planned]:
    """Check mode: each step planned again on what the changes planned before it would do, change by
    change in order, where its resource can tell (`after_writes`: a service whose drop-in a file step
    writes); the others as the probe saw them."""
    written: list[frozenset[Touch]] = []  # what each change planned so far writes, in order
    seen: list[Planned] = []
    for item in planned:
        resource = item.entry.resource
        if written and item.observed is not None and type(resource).after_writes is not Resource.after_writes:
            state, read = item.observed, reads(item)
            for touched in (w for w in written if overlaps(read, w)):
                after = resource.after_writes(state, touched)
                state = state if after is None else after
            item = item if state is item.observed else decide(item.entry, state)
        if item.step.status == PlanStatus.CHANGE:
            written.append(writes([item]))
        seen.append(item)
    return seen


def _independent(group: list[Planned], written: set[Touch]) -> list[Planned]:
    """The leading members of a group whose reads the chain so far left alone (the first always is)."""
    kept = group[:1]
    for item in group[1:]:
        if written and overlaps(reads(item), written):
            break
        kept.append(item)
    return kept


def batch(planned: list[Planned], index: int) -> list[Planned]:
    """A changed step with the changed steps of its type right after it, when the type merges them
    (packages: one apt run)."""
    group = [planned[index]]
    kind = type(planned[index].entry.resource)
    if not kind.merges:
        return group
    for item in planned[index + 1:]:
        if type(item.entry.resource) is not kind or item.step.status != PlanStatus.CHANGE:
            break
        group.append(item)
    return group


def merged(group: list[Planned]) -> list[Action]:
    """The actions of a group of steps, as its type merges them into one run."""
    return type(group[0].entry.resource).merge([a for g in group for a in g.step.actions])


def script(steps: list[list[Action]], notify: list[list[str]], token: str) -> str:
    """Sh for the steps in turn: each marked on stdout and stderr, its handlers remembered before it
    acts (a failure cannot lose them); the first failure prints where it happened and ends the script."""
    lines = [f"[ -d {hostpaths.STATE} ] || mkdir -m 0700 {hostpaths.STATE}"]  # a builtin test: no process per step
    if any(isinstance(a, Upload) or a.at is not None for step in steps for a in step):
        lines.append(hostpaths.ACTOR.strip())
    for number, (actions, names) in enumerate(zip(steps, notify, strict=True)):
        lines.append(f"printf '\\n@@{token} s{number}\\n'; printf '\\n@@{token} s{number}\\n' >&2")
        lines += [f"printf '%s\\n' {quote(n)} >> {probe.PENDING}" for n in names]
        body = "".join(f"( {snippet(action, token)}) || exit $?\n" for action in actions)
        lines.append(f"(\n{body})")
        lines.append(f"__cfg_rc=$?; if [ $__cfg_rc -ne 0 ]; then printf '\\n@@{token} end {number} %s\\n' "
                     f"$__cfg_rc; exit $__cfg_rc; fi")
    return "\n".join(lines) + "\n"


def failed_step(stdout: str, token: str) -> int:
    """Which step of a failed script failed: the one its end marker names, else the last one begun."""
    ended = re.findall(rf"@@{token} end (\d+) \d+\n", stdout)
    if ended:
        return int(ended[-1])
    begun = re.findall(rf"@@{token} s(\d+)\n", stdout)
    return int(begun[-1]) if begun else 0


def output_of(text: str, token: str, number: int) -> str:
    """What step `number` printed on one stream (the whole stream when its marker was not kept)."""
    _, found, rest = text.partition(f"@@{token} s{number}\n")
    if not found:
        return text
    return re.split(rf"\n?@@{token} (?:s\d+|end \d+ \d+)\n", rest)[0]
