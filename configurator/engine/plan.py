"""Planning: observed state → one step per resource; pure Python, no host access."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from configurator.model import templates
from configurator.model.catalog import Entry
from configurator.model.context import with_facts
from configurator.resources.base import Step, Unreadable, unknown


@dataclass(frozen=True)
class Planned:
    """An entry of the catalog with its decided step."""

    entry: Entry
    step: Step
    observed: Any = field(default=None, compare=False, repr=False)  # the state it was planned on

    @property
    def id(self) -> str:
        return self.entry.resource.id


def applies(entry: Entry, facts: dict[str, str], context: dict[str, Any]) -> bool:
    """Whether an entry's deferred `when` (a condition on facts) holds; `context`: the catalog's."""
    if entry.when is None:
        return True
    env = templates.environment()
    return bool(templates.expression(env, entry.when, with_facts(context, facts), entry.where))


def decide(entry: Entry, observed: Any) -> Planned:
    """Plan one entry from its parsed state; a resource that cannot read its state is `unknown`, never a crash."""
    if isinstance(observed, Unreadable):
        return Planned(entry, unknown(observed.reason))
    try:
        return Planned(entry, entry.resource.plan(observed), observed)
    except (ValueError, KeyError, IndexError) as exc:
        return Planned(entry, unknown(f"could not read the observed state: {exc}"))


def decide_all(entries: list[Entry], states: tuple[Any, ...]) -> list[Planned]:
    """Plan every entry from its observed state."""
    return [decide(entry, text) for entry, text in zip(entries, states, strict=True)]
