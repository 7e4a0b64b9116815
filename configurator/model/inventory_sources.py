"""What kind of inventory a file is, and each kind in configurator's own shape (with `include:`).

Kinds: configurator's YAML; Ansible YAML (a mapping of groups) and INI; an executable dynamic
inventory (`#!` and the execute bit); an ssh_config file. A configurator YAML file may `include:`
any of them and add roles, vars and ssh settings to the hosts and groups they define.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

from configurator.errors import InputError, Location
from configurator.model import ansible_vars
from configurator.model.loader import Mapping, Placed, placed, read_text
from configurator.model.vault_secrets import Secrets

YAML_SUFFIXES = (".yml", ".yaml", ".json")
MAX_INCLUDES = 8  # nested `include:` levels
LISTS = ("hosts", "children", "roles")  # in a host or group: the included names, then the added ones
ANSIBLE_GROUP_KEYS = {"hosts", "children", "vars"}  # all an Ansible YAML inventory's group may hold
_YAML_LINE = re.compile(r"^[^\s\[#;=][^=]*:(\s|$)")  # `key:` or `key: value`, not an INI line


def kind_of(path: Path) -> str:
    """`yaml`, `script`, `ssh_config` or `ini`."""
    if path.suffix.lower() in YAML_SUFFIXES:
        return "yaml"
    try:
        with path.open("rb") as head:
            start = head.read(2)
    except OSError as exc:
        raise InputError(f"cannot read the inventory: {exc.strerror or exc}", Location(str(path))) from None
    if start == b"#!" and os.access(path, os.X_OK):
        return "script"
    if path.suffix.lower() == ".ini":
        return "ini"
    from configurator.model import ssh_config_hosts  # the other kinds load only for files of their kind

    text = read_text(path)
    if ssh_config_hosts.looks_like(text):
        return "ssh_config"
    first = next((line for line in text.splitlines() if line.strip() and line.strip()[0] not in "#;"), "")
    return "yaml" if _YAML_LINE.match(first) else "ini"


def load_source(path: Path, secrets: Secrets, own_keys: Collection[str]) -> Any:
    """The inventory at `path` as configurator's own mapping (file:line kept), whatever its kind."""
    return _load(path, secrets, set(own_keys), (path.resolve(),))


def _load(path: Path, secrets: Secrets, own_keys: set[str], chain: tuple[Path, ...]) -> Any:
    kind = kind_of(path)
    if kind != "yaml":
        return _converted(kind, path, None, secrets)
    data = ansible_vars.load_yaml(path)
    if is_ansible_yaml(data, own_keys | {"include"}):
        return _converted(kind, path, ansible_vars.reveal(data, secrets), secrets)
    ansible_vars.refuse_vaulted(data)
    if isinstance(data, Mapping) and "include" in data:
        return _include(data, path, secrets, own_keys, chain)
    return data


def is_ansible_yaml(data: Any, own_keys: set[str]) -> bool:
    """Whether loaded YAML is an Ansible inventory: a mapping of groups, none of configurator's own top keys."""
    if not isinstance(data, Mapping) or not data or own_keys & set(data):
        return False
    return all(spec is None or (isinstance(spec, dict) and set(spec) <= ANSIBLE_GROUP_KEYS) for spec in data.values())


def _converted(kind: str, path: Path, data: Mapping | None, secrets: Secrets) -> Mapping:
    """Another tool's inventory in configurator's shape; its reader loads only for a file of its kind."""
    from configurator.model.ansible_convert import convert

    if kind == "script":
        from configurator.model import dynamic_inventory

        return convert(dynamic_inventory.load(path), secrets)
    if kind == "ssh_config":
        from configurator.model import ssh_config_hosts

        return convert(ssh_config_hosts.parse(read_text(path), path), secrets)
    if kind == "ini":
        from configurator.model import ansible_ini

        return convert(ansible_ini.parse(read_text(path), path), secrets)
    from configurator.model import ansible_yaml

    assert data is not None  # an Ansible YAML inventory, already read
    return convert(ansible_yaml.parse(data, path), secrets)


def _include(data: Mapping, path: Path, secrets: Secrets, own_keys: set[str], chain: tuple[Path, ...]) -> Placed:
    """`data` over the inventories it includes: its hosts and groups add to theirs, its settings win."""
    at = data.where_of("include")
    names = data["include"] if isinstance(data["include"], list) else [data["include"]]
    merged: Mapping | None = None
    for name in names:
        if not isinstance(name, str) or not name:
            raise InputError("include must be a file name or a list of them", at)
        target = (path.parent / Path(name).expanduser()).resolve()
        if target in chain or len(chain) > MAX_INCLUDES:
            raise InputError(f"include {name!r} forms a loop or nests too deep", at)
        if not target.is_file():
            raise InputError(f"include {name!r}: no such file", at)
        merged = _merge(merged, _load(target, secrets, own_keys, (*chain, target)), by_name=True)
    own = placed({k: (v, data.where_of(k)) for k, v in data.items() if k != "include"}, data.where)
    result = _merge(merged, own, by_name=True)
    result.where = data.where
    return result


def _merge(base: Mapping | None, over: Mapping, by_name: bool = False) -> Placed:
    """`over` on `base`: `hosts`/`groups` entry by entry (top level), name lists joined, `vars` key by key."""
    values = {k: (v, base.where_of(k)) for k, v in base.items()} if base else {}
    for key, value in over.items():
        before = values.get(key, (None, None))[0]
        if isinstance(before, Mapping) and isinstance(value, Mapping) and key == "vars":
            value = _merge(before, value)
        elif isinstance(before, Mapping) and isinstance(value, Mapping) and by_name and key in ("hosts", "groups"):
            value = _entries(before, value)
        elif isinstance(before, list) and isinstance(value, list) and key in LISTS:
            value = before + [v for v in value if v not in before]
        values[key] = (value, over.where_of(key))
    return placed(values, base.where if base else over.where)


def _entries(before: Mapping, after: Mapping) -> Placed:
    """Hosts or groups: an entry on both sides is merged, the others are kept."""
    values = {k: (v, before.where_of(k)) for k, v in before.items()}
    for name, spec in after.items():
        old = values.get(name, (None, None))[0]
        both = isinstance(old, Mapping) and isinstance(spec, Mapping)
        where = before.where_of(name) if name in values else after.where_of(name)  # where it was defined
        values[name] = (_merge(old, spec) if both else spec if spec is not None else old, where)
    return placed(values, before.where)
