"""How a group rolls out: `serial` (a count, a percentage or a ramp), `max_fail`, `after:` and batch hooks.

Parsed from the group's entry in the inventory and checked against the other groups and the hosts
(unknown names and `after:` cycles are bad input with file:line). The engine plans the batches
(engine/batches.py) and runs the hooks (engine/hooks.py) from these values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from configurator.errors import InputError, Location
from configurator.model.loader import Sequence

KEYS = ("serial", "max_fail", "after", "after_success", "batch_hooks")  # of a group entry
LOCAL = "local"  # a hook's `on:` for a shell on the machine running configure
HOOK_KEYS = {"on", "run", "timeout"}
YAML_ON = {"True": "on"}  # YAML 1.1 reads an unquoted `on:` key as true, which the loader turns into "True"
HOOK_WHEN = ("before", "after")
HOOK_TIMEOUT = 300.0
_PERCENT = re.compile(r"^\s*(\d{1,3})\s*%\s*\Z")
SERIAL_HINT = 'a whole number, a percentage such as "30%", or a list of them (a ramp: [1, "10%", "50%"])'


@dataclass(frozen=True)
class Percent:
    """A share of a group's hosts in the run, e.g. `30%`."""

    value: int

    def of(self, total: int) -> int:
        """The share of `total` hosts, rounded down."""
        return total * self.value // 100

    def __str__(self) -> str:
        return f"{self.value}%"


Size = int | Percent


@dataclass(frozen=True)
class Hook:
    """A command run before or after each batch: on an inventory host, or `local` (this machine)."""

    on: str
    run: str  # a jinja2 template: batch, succeeded, failed, group and the usual names
    timeout: float = HOOK_TIMEOUT
    where: Location = field(default=Location("<inventory>"), compare=False)


@dataclass(frozen=True)
class Rolling:
    """A group's rollout settings, as the inventory gives them."""

    serial: int | Percent | tuple[Size, ...] | None = None
    max_fail: int | Percent = 0
    after: tuple[str, ...] = ()
    after_success: bool = False
    before_hooks: tuple[Hook, ...] = ()
    after_hooks: tuple[Hook, ...] = ()
    where: Location = field(default=Location("<inventory>"), compare=False)  # of `after:`, for cycles

    @property
    def ramp(self) -> tuple[Size, ...]:
        """The batch sizes in order (the last one repeats); empty without `serial`."""
        if self.serial is None:
            return ()
        return self.serial if isinstance(self.serial, tuple) else (self.serial,)

    @property
    def ordered(self) -> bool:
        """Whether the group's hosts wait for anything: batches, other groups, or hooks."""
        return bool(self.serial is not None or self.after or self.before_hooks or self.after_hooks)


def parse(spec: Mapping[str, Any], group: str, at: Location) -> Rolling:
    """The rollout keys of one group's entry (`spec`, a loader Mapping)."""
    def where(key: str) -> Location:
        return spec.where_of(key) if hasattr(spec, "where_of") and key in spec else at

    get = spec.get
    serial = None if get("serial") is None else _serial(get("serial"), f"group {group} serial", where("serial"))
    max_fail = 0 if get("max_fail") is None else _max_fail(get("max_fail"), f"group {group} max_fail",
                                                            where("max_fail"))
    after = _group_names(get("after"), f"group {group} after", where("after"))
    flag = get("after_success", False)
    if not isinstance(flag, bool):
        raise InputError(f"group {group} after_success must be true or false, got {flag!r}", where("after_success"))
    before, later = _hooks(get("batch_hooks"), group, where("batch_hooks"))
    return Rolling(serial, max_fail, after, flag, before, later, where("after"))


def size(value: Any, what: str, at: Location, minimum: int = 1) -> Size:
    """A whole number of at least `minimum`, or a percentage ("30%") from `minimum` to 100."""
    if isinstance(value, str) and (match := _PERCENT.match(value)):
        share = int(match.group(1))
        if not minimum <= share <= 100:
            raise InputError(f"{what} must be a percentage from {minimum}% to 100%, got {value!r}", at)
        return Percent(share)
    if not isinstance(value, int) or isinstance(value, bool):
        kind = "1 or more" if minimum else "0 or more"
        raise InputError(f"{what} must be a whole number ({kind}) or a percentage such as \"30%\", "
                         f"got {type(value).__name__} {value!r}", at)
    if value < minimum:
        raise InputError(f"{what} must be {minimum} or more, got {value}", at)
    return value


def _serial(value: Any, what: str, at: Location) -> int | Percent | tuple[Size, ...]:
    if isinstance(value, list):
        if not value:
            raise InputError(f"{what} must not be an empty list", at, SERIAL_HINT)
        return tuple(size(item, f"each step of {what}", _item_at(value, i, at)) for i, item in enumerate(value))
    return size(value, what, at)


def _max_fail(value: Any, what: str, at: Location) -> int | Percent:
    return size(value, what, at, minimum=0)


def _item_at(items: list[Any], index: int, at: Location) -> Location:
    return items.where_of(index) if isinstance(items, Sequence) else at


def _group_names(value: Any, what: str, at: Location) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value if value is not None else []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InputError(f"{what} must be a list of group names, got {value!r}", at)
    return tuple(names)


def _hooks(value: Any, group: str, at: Location) -> tuple[tuple[Hook, ...], tuple[Hook, ...]]:
    if value is None:
        return (), ()
    if not isinstance(value, dict) or set(value) - set(HOOK_WHEN):
        raise InputError(f"group {group} batch_hooks must be a mapping with `before:` and/or `after:`", at)
    found: dict[str, tuple[Hook, ...]] = {}
    for when in HOOK_WHEN:
        items = value.get(when) or []
        here = value.where_of(when) if hasattr(value, "where_of") else at
        if not isinstance(items, list):
            raise InputError(f"group {group} batch_hooks {when} must be a list of hooks", here)
        found[when] = tuple(_hook(item, f"group {group} batch_hooks {when}", _item_at(items, i, here))
                            for i, item in enumerate(items))
    return found["before"], found["after"]


def _hook(item: Any, what: str, at: Location) -> Hook:
    if not isinstance(item, dict):
        raise InputError(f"each of {what} must be a mapping {{on: HOST|local, run: COMMAND, timeout: SECONDS}}", at)
    keys = {str(YAML_ON.get(k, k)) for k in item}
    unknown = sorted(keys - HOOK_KEYS)
    if unknown or len(keys) < len(item):
        name = unknown[0] if unknown else "on"
        raise InputError(f"unknown or repeated key {name!r} in a hook of {what}", at, "allowed: on, run, timeout")
    on = next((v for k, v in item.items() if YAML_ON.get(k, k) == "on"), None)
    run, timeout = item.get("run"), item.get("timeout", HOOK_TIMEOUT)
    if not isinstance(on, str) or not on:
        raise InputError(f"a hook of {what} needs `on:` (an inventory host name, or local)", at)
    if not isinstance(run, str) or not run.strip():
        raise InputError(f"a hook of {what} needs `run:` (a shell command)", at)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not math.isfinite(timeout) \
            or timeout <= 0:
        raise InputError(f"a hook's timeout in {what} must be a number of seconds above 0, got {timeout!r}", at)
    return Hook(on, run, float(timeout), at)


def check(rolling: Mapping[str, Rolling], hosts: Collection[str]) -> None:
    """Every `after:` names a known group without a cycle; every hook runs on a known host (or local)."""
    for group, spec in rolling.items():
        for name in spec.after:
            if name not in rolling:
                raise InputError(f"group {group} after: unknown group {name!r}", spec.where)
        for hook in spec.before_hooks + spec.after_hooks:
            if hook.on != LOCAL and hook.on not in hosts:
                raise InputError(f"group {group}: a batch hook runs on unknown host {hook.on!r}", hook.where,
                                 "on: an inventory host name, or local for this machine")
    done: set[str] = set()
    for group in rolling:
        _no_cycle(rolling, group, (), done)


def _no_cycle(rolling: Mapping[str, Rolling], group: str, chain: tuple[str, ...], done: set[str]) -> None:
    if group in chain:
        cycle = chain[chain.index(group):] + (group,)
        raise InputError(f"groups wait for each other (after:): {' -> '.join(cycle)}", rolling[cycle[0]].where)
    if group in done:
        return
    for name in rolling[group].after:
        _no_cycle(rolling, name, chain + (group,), done)
    done.add(group)
