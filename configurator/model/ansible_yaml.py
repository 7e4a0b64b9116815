"""Ansible's YAML inventory format: groups with `hosts`, `children` and `vars`, nested to any depth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from configurator.errors import InputError, Location
from configurator.model.ansible_draft import Draft, expand, from_mapping
from configurator.model.loader import Mapping

GROUP_KEYS = ("hosts", "children", "vars")  # configurator.model.inventory_sources tells the format by them
MAX_DEPTH = 50  # nested children; deeper is refused rather than recursed into


def parse(data: Mapping, path: Path) -> Draft:
    """The draft inventory of a loaded Ansible YAML inventory."""
    draft = Draft(path)
    for name, spec in data.items():
        _group(draft, name, spec, data.where_of(name), 0)
    return draft


def _mapping(value: Any, what: str, at: Location) -> Mapping | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InputError(f"{what} must be a mapping, got {type(value).__name__}", at)
    return value


def _group(draft: Draft, name: str, spec: Any, at: Location, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise InputError(f"groups nested more than {MAX_DEPTH} deep", at)
    group = draft.group(name, at)
    body = _mapping(spec, f"group {name}", at)
    if body is None:
        return
    for key in body:
        if key not in GROUP_KEYS:
            raise InputError(f"unknown key {key!r} in group {name}", body.where_of(key),
                             "allowed: children, hosts, vars")
    own_vars = _mapping(body.get("vars"), f"group {name} vars", body.where_of("vars"))
    group.vars.update(from_mapping(own_vars) if own_vars else {})
    hosts = _mapping(body.get("hosts"), f"group {name} hosts", body.where_of("hosts")) or Mapping()
    for pattern, values in hosts.items():
        here = hosts.where_of(pattern)
        own = _mapping(values, f"host {pattern}", here)
        for host in expand(str(pattern), here):
            draft.host(host, here, name).update(from_mapping(own) if own else {})
    children = _mapping(body.get("children"), f"group {name} children", body.where_of("children")) or Mapping()
    for child, child_spec in children.items():
        group.add_child(child, children.where_of(child))
        _group(draft, child, child_spec, children.where_of(child), depth + 1)
