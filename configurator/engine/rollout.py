"""Rolling runs: hosts of a group with `serial: N` go N at a time, with a failure budget
(`max_fail`) counted across all batches; the next batch starts only when the one before is healthy."""

from __future__ import annotations

from dataclasses import dataclass

from configurator.model.catalog import Catalog
from configurator.model.inventory import Inventory


@dataclass(frozen=True)
class Plan:
    """Batches in order, and how many failed hosts the run tolerates before it stops."""

    batches: tuple[tuple[Catalog, ...], ...]
    max_fail: int


def batches(catalogs: list[Catalog], inventory: Inventory) -> Plan:
    """Hosts outside any serial group form the first batch; serial groups follow in inventory order."""
    serial = [g for g in inventory.groups.values() if g.serial]
    if not serial:
        return Plan((tuple(catalogs),) if catalogs else (), 0)
    free = tuple(c for c in catalogs if not any(g.name in c.host.groups for g in serial))
    result: list[tuple[Catalog, ...]] = [free] if free else []
    placed = {c.host.name for c in free}
    for group in serial:
        members = [c for c in catalogs if group.name in c.host.groups and c.host.name not in placed]
        placed |= {c.host.name for c in members}
        size = max(1, int(group.serial or 1))
        result += [tuple(members[i:i + size]) for i in range(0, len(members), size)]
    return Plan(tuple(result), max(g.max_fail for g in serial))
