"""The one place that says what templates, `when:` conditions and role tests see.

Every name is the same everywhere: the host's merged variables, `inventory_hostname`, `host`
(name, address, groups) and `inventory` (every host and group); `facts` joins them once the probe
has read them. Example: `when: "facts.os_id == 'debian' and inventory_hostname == 'web1'"`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from configurator.model.inventory import Host, Inventory
from configurator.model.variables import merge, plain


def inventory_view(inventory: Inventory) -> dict[str, Any]:
    """What templates see of the whole inventory (for DNS records, DHCP reservations...)."""
    hosts = {
        h.name: {"name": h.name, "address": h.address, "groups": list(h.groups),
                 "vars": plain(merge(h.var_layers))}
        for h in inventory.hosts.values()
    }
    groups = {g: [h.name for h in inventory.hosts.values() if g in h.groups] for g in inventory.groups}
    return {"hosts": hosts, "groups": groups}


def template_context(host: Host, variables: Mapping[str, Any], view: dict[str, Any]) -> dict[str, Any]:
    """The names a template or a `when:` sees before the probe (`variables`: merged, plain values)."""
    return {**variables, "inventory_hostname": host.name,
            "host": {"name": host.name, "address": host.address, "groups": list(host.groups)},
            "inventory": view}


def with_facts(context: Mapping[str, Any], facts: Mapping[str, str]) -> dict[str, Any]:
    """The same names after the probe, with the host's `facts`."""
    return {**context, "facts": dict(facts)}
