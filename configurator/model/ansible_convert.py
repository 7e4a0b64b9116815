"""An Ansible inventory as read (a `Draft`) in configurator's own shape, with Ansible's variable precedence.

`all`'s vars become the inventory vars; the other groups are listed parents before children (by
depth, then name), which is the order Ansible merges them in, so configurator's "group vars in
inventory order" gives the same values. `group_vars/` and `host_vars/` beside the inventory win over
the vars written in it. The connection variables (`ansible_host`, `ansible_port`, ...) are resolved
for each host with the same precedence and become its address and ssh settings; they stay variables too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from configurator.errors import InputError, Location
from configurator.model import ansible_vars
from configurator.model.ansible_draft import Draft, DraftGroup, Placed, Written, from_mapping, placed
from configurator.model.loader import Mapping
from configurator.model.vault_secrets import Secrets

CONNECTION_VARS = {
    "ansible_host": "address", "ansible_ssh_host": "address",
    "ansible_port": "port", "ansible_ssh_port": "port",
    "ansible_user": "user", "ansible_ssh_user": "user",
    "ansible_ssh_private_key_file": "identity", "ansible_private_key_file": "identity",
    "ansible_become": "become", "ansible_connection": "connection",
}
TRUE, FALSE = {"yes", "true", "on", "1", "y"}, {"no", "false", "off", "0", "n"}
CONNECTIONS = {"local": "local", "ssh": "ssh", "smart": "ssh", "paramiko": "ssh", "paramiko_ssh": "ssh"}


def convert(draft: Draft, secrets: Secrets) -> Mapping:
    """The configurator inventory mapping (`vars`, `groups`, `hosts`) for `draft`."""
    top = Location(str(draft.path), 1)
    _attach_to_all(draft, top)
    parents = _parents(draft)
    depth: dict[str, int] = {}
    for name in draft.groups:
        _depth(name, draft, parents, depth, ())
    folder = ansible_vars.VarsFolder(draft.path.parent / "group_vars")
    group_vars = {name: _with_files(g.vars, folder, name, secrets) for name, g in draft.groups.items()}
    order = sorted((n for n in draft.groups if n != "all"), key=lambda n: (depth[n], n))
    order = [n for n in order if n != "ungrouped" or group_vars[n]]
    data = placed({}, top)
    data["vars"] = placed(group_vars["all"], top)
    data["groups"] = placed({n: (_group_spec(draft.groups[n], group_vars[n], order), draft.groups[n].where)
                             for n in order}, top)
    member_of = _memberships(draft, parents, order)
    own = ansible_vars.VarsFolder(draft.path.parent / "host_vars")
    data["hosts"] = placed({h: (_host_spec(draft, h, member_of.get(h, []), group_vars, own, secrets), at)
                            for h, at in draft.hosts.items()}, top)
    return data


def _attach_to_all(draft: Draft, top: Location) -> None:
    """Ansible's implicit `all`: every group no other group holds is its child."""
    everything = draft.group("all", top)
    held = {c for g in draft.groups.values() for c in g.children}
    for name, group in list(draft.groups.items()):
        if name != "all" and name not in held:
            everything.add_child(name, group.where)
        for child, at in group.children.items():
            if child not in draft.groups:
                raise InputError(f"group {name} has unknown child group {child!r}", at)


def _parents(draft: Draft) -> dict[str, list[str]]:
    parents: dict[str, list[str]] = {name: [] for name in draft.groups}
    for name, group in draft.groups.items():
        for child in group.children:
            parents[child].append(name)
    return parents


def _depth(name: str, draft: Draft, parents: dict[str, list[str]], depth: dict[str, int],
           seen: tuple[str, ...]) -> int:
    """The longest way from `all` down to `name` (Ansible merges shallower groups first)."""
    if name in seen:
        raise InputError(f"group children form a cycle: {' -> '.join((*seen, name))}", draft.groups[name].where)
    if name not in depth:
        above = [_depth(p, draft, parents, depth, (*seen, name)) for p in parents[name]]
        depth[name] = 1 + max(above) if above else 0
    return depth[name]


def _with_files(written: dict[str, Written], folder: ansible_vars.VarsFolder, name: str,
                secrets: Secrets) -> dict[str, Written]:
    """Vars written in the inventory, then those of `folder/NAME*` files (which win)."""
    merged = dict(written)
    for loaded in folder.loaded(name, secrets):
        merged.update(from_mapping(loaded))
    return merged


def _group_spec(group: DraftGroup, values: dict[str, Written], shown: list[str]) -> Placed:
    where = group.where
    children = {c: at for c, at in group.children.items() if c in shown}
    return placed({"hosts": (ansible_vars.sequence(group.hosts, where), where),
                   "children": (ansible_vars.sequence(children, where), where),
                   "vars": (placed(values, where), where)}, where)


def _memberships(draft: Draft, parents: dict[str, list[str]], order: list[str]) -> dict[str, list[str]]:
    """host -> every group it belongs to, directly or through children, in merge order."""
    rank = {name: i for i, name in enumerate(order)}
    above: dict[str, set[str]] = {}

    def ancestors(name: str) -> set[str]:  # a group and the groups holding it (cycles were refused by _depth)
        if name not in above:
            above[name] = {name}.union(*(ancestors(p) for p in parents[name]))
        return above[name]

    found: dict[str, set[str]] = {}
    for name, group in draft.groups.items():
        for host in group.hosts:
            found.setdefault(host, set()).update(ancestors(name))
    return {host: sorted((g for g in groups if g in rank), key=rank.__getitem__) for host, groups in found.items()}


def _host_spec(draft: Draft, host: str, groups: list[str], group_vars: dict[str, dict[str, Written]],
               folder: ansible_vars.VarsFolder, secrets: Secrets) -> Placed:
    at = draft.hosts[host]
    own = _with_files(draft.host_vars.get(host, {}), folder, host, secrets)
    effective = dict(group_vars["all"])
    for name in groups:
        effective.update(group_vars[name])
    effective.update(own)
    spec: dict[str, Written] = {"vars": (placed(own, at), at)}
    for name, (value, where) in effective.items():
        if name in CONNECTION_VARS:
            spec[CONNECTION_VARS[name]] = (_setting(CONNECTION_VARS[name], value, name, where, draft.path), where)
    return placed(spec, at)


def _setting(key: str, value: Any, name: str, at: Location, path: Path) -> Any:
    """An Ansible connection variable as the configurator ssh setting it stands for."""
    text = str(value).strip()
    if key == "port" and text.isdigit():
        return int(text)
    if key == "become" and not isinstance(value, bool):
        if text.lower() not in TRUE | FALSE:
            raise InputError(f"{name} must be a boolean (yes/no, true/false), got {value!r}", at)
        return text.lower() in TRUE
    if key == "connection":
        if text not in CONNECTIONS:
            raise InputError(f"{name} {text!r} is not supported", at, "ssh (also smart, paramiko) or local")
        return CONNECTIONS[text]
    if key == "identity" and isinstance(value, str):
        return str(path.parent / Path(value).expanduser())  # relative to the Ansible inventory's folder
    return value
