"""Rolling runs: each group with `serial` rolls its own batches, side by side with the other groups;
`after:` orders groups where asked; each group's failure budget (`max_fail`) counts only its own hosts.

The batches themselves are planned as data (batches.py); this module binds them to the run's catalogs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from configurator.engine import hooks
from configurator.engine.batches import AT_ONCE, Batch, Lane, Wait, plan
from configurator.model.catalog import Catalog
from configurator.model.inventory import Host, Inventory

__all__ = ["AT_ONCE", "Batch", "Lane", "Plan", "Wait", "at_once", "batches", "describe", "order"]


@dataclass(frozen=True)
class Plan:
    """The run's catalogs (in report order) and the lanes that roll them out."""

    catalogs: tuple[Catalog, ...]
    lanes: tuple[Lane, ...]
    inventory: Inventory | None = None  # for batch hooks: their hosts and the template context

    def batch_of(self) -> dict[str, Batch]:
        """host -> the batch it belongs to."""
        return {h: b for lane in self.lanes for b in lane.batches for h in b.hosts}

    def labels(self) -> dict[str, str]:
        """host -> `group i/n` (or `at once`), as the live view and the recap show it."""
        return {h: b.label for h, b in self.batch_of().items()}


def batches(catalogs: Sequence[Catalog], inventory: Inventory) -> Plan:
    """The rolling plan of a run that writes (apply, check): groups side by side, in batches where asked."""
    lanes = lanes_of([c.host for c in catalogs], inventory)
    for lane in lanes:  # a hook that cannot render is bad input, found before any connection
        for hook in lane.before + lane.after:
            hooks.render(hook, hooks.Names(lane.group, lane.batches[0].hosts), inventory)
    return Plan(tuple(catalogs), lanes, inventory)


def lanes_of(hosts: Sequence[Host], inventory: Inventory) -> tuple[Lane, ...]:
    """The lanes that roll out `hosts` (in run order) with their groups' settings."""
    rolling = {g.name: g.rolling for g in inventory.groups.values()}
    return plan([h.name for h in hosts], {h.name: h.groups for h in hosts}, rolling)


def order(hosts: Sequence[Host], inventory: Inventory) -> list[str]:
    """The order a run over `hosts` takes, one line per batch, then each rolling group's failure budget."""
    lanes = lanes_of(hosts, inventory)
    budgets = [f"{lane.group} {lane.max_fail}" for lane in lanes if len(lane.batches) > 1]
    return describe(lanes) + ([f"max_fail: {', '.join(budgets)}"] if budgets else [])


def at_once(catalogs: Sequence[Catalog]) -> Plan:
    """Every host in one batch: for runs that write nothing (verify, drift), where rolling has no point."""
    names = tuple(c.host.name for c in catalogs)
    lanes = (Lane(AT_ONCE, (Batch(AT_ONCE, 1, 1, names),), len(names)),) if names else ()
    return Plan(tuple(catalogs), lanes)


def describe(lanes: Sequence[Lane]) -> list[str]:
    """The order of a run, one line per batch (for `configure hosts`)."""
    lines = []
    for lane in lanes:
        for batch in lane.batches:
            waits = "; ".join(_wait(w) for w in batch.waits)
            line = f"{batch.label}: {' '.join(batch.hosts)}"
            if batch.index > 1:
                waits = f"after {lane.group} {batch.index - 1}/{batch.count}" + (f"; {waits}" if waits else "")
            lines.append(line + (f"  ({waits})" if waits else ""))
    return lines


def _wait(wait: Wait) -> str:
    return f"after {wait.group}: {' '.join(wait.hosts)}" + (", skipped if one fails" if wait.success else "")
