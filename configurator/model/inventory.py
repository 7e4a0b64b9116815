"""The inventory: hosts, groups (with children), their roles, vars and SSH settings."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from configurator.errors import InputError, Location
from configurator.model import inventory_values as values
from configurator.model import rolling
from configurator.model.inventory_sources import load_source
from configurator.model.loader import Mapping, Sequence, load_file
from configurator.model.rolling import Percent, Rolling, Size
from configurator.model.variables import Layer, layer
from configurator.model.vault_secrets import NO_SECRETS, Secrets

NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
TOP_KEYS = {"ssh", "vars", "vars_files", "hosts", "groups", "roles_path", "roles", "resource_paths"}
SSH_KEYS = {"user", "port", "identity", "known_hosts", "accept_new", "connect_timeout",
            "command_timeout", "become", "gateway", "lock_wait", "host_key"}
HOST_KEYS = {"address", "connection", "vars", "vars_files", "roles"} | SSH_KEYS
GROUP_KEYS = {"hosts", "children", "roles", "vars", "vars_files", *rolling.KEYS}
VarsLoader = Callable[[Path], Mapping]  # reads a vars file (the CLI's decrypts vault files)


@dataclass(frozen=True)
class Ssh:
    """How to reach a host."""

    user: str = "root"
    port: int = 22
    identity: str | None = None
    known_hosts: str | None = None
    accept_new: bool = False
    connect_timeout: float = 10.0
    command_timeout: float = 1800.0
    become: bool = False
    gateway: str | None = None
    lock_wait: float = 10.0
    host_key: str | None = None  # SHA256 fingerprint of the host's key, trusted on first contact
    given: frozenset[str] = field(default=frozenset(), compare=False)  # the keys the inventory set


@dataclass(frozen=True)
class Host:
    """One target host: where it is, how to reach it, what it is."""

    name: str
    address: str
    ssh: Ssh
    groups: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    var_layers: tuple[Layer, ...] = ()
    where: Location = field(default=Location("<inventory>"), compare=False)
    connection: str = "ssh"  # ssh | local (a shell on the machine running configure)


@dataclass(frozen=True)
class Group:
    """A named set of hosts (directly or through children), with roles and vars."""

    name: str
    hosts: tuple[str, ...]
    children: tuple[str, ...]
    roles: tuple[str, ...]
    vars: Layer
    rolling: Rolling
    where: Location

    @property
    def serial(self) -> int | Percent | tuple[Size, ...] | None:
        """Hosts a batch: a count, a percentage or a ramp (None: all at once)."""
        return self.rolling.serial

    @property
    def max_fail(self) -> int | Percent:
        """Failed hosts of this group tolerated before its later batches are skipped."""
        return self.rolling.max_fail


@dataclass(frozen=True)
class Inventory:
    """A loaded, validated inventory."""

    path: Path
    hosts: dict[str, Host]
    groups: dict[str, Group]
    roles_path: tuple[Path, ...]
    resource_paths: tuple[Path, ...] = ()  # folders of the project's own resource types (plugins)

    def select(self, pattern: str | None) -> list[Host]:
        """Hosts matching a --limit pattern: names, groups, globs, `!exclude`, comma-separated."""
        return [self.hosts[n] for n in select_names(self, pattern)]


def _check_keys(data: Mapping, allowed: set[str], what: str) -> None:
    for key in data:
        if key not in allowed:
            raise InputError(f"unknown key {key!r} in {what}", data.where_of(key),
                             f"allowed: {', '.join(sorted(allowed))}")


def _expect(value: Any, kind: type | tuple[type, ...], what: str, at: Location) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise InputError(f"{what} must be a {names}, got {type(value).__name__} {value!r}", at)
    return value


def _names(value: Any, what: str, at: Location) -> tuple[str, ...]:
    items = _expect(value if value is not None else [], list, what, at)
    for i, item in enumerate(items):
        loc = items.where_of(i) if isinstance(items, Sequence) else at
        _expect(item, str, f"each of {what}", loc)
        if not NAME.match(item):
            raise InputError(f"{what}: {item!r} is not a valid name", loc,
                             "use letters, digits, '_', '.', '-'; not starting with '-'")
    return tuple(items)


def _ssh(data: Mapping | None, base: Ssh, what: str) -> Ssh:
    if not data:
        return base
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key not in SSH_KEYS:
            continue
        at = data.where_of(key)
        default = getattr(Ssh(), key)
        kind: Any = (int, float) if isinstance(default, float) else type(default)
        if default is None:
            kind = str
        value = _expect(value, kind, f"{what} {key}", at)
        changes[key] = values.ssh_value(key, float(value) if isinstance(default, float) else value, f"{what} {key}", at)
    return replace(base, given=base.given | set(changes), **changes)


def _vars(level: str, spec: Mapping, at: Location, base: Path, read: VarsLoader) -> Layer:
    """One level's variables: its `vars_files` in order, then its inline `vars` (which win)."""
    merged = Mapping()
    merged.where, merged.key_lines = at, {}
    files = spec.get("vars_files") or []
    for name in _names_or_paths(files, spec) if files else []:
        loaded = read((base / Path(name).expanduser()).resolve())
        for key, value in loaded.items():
            merged[key] = value
            merged.key_lines[key] = loaded.key_lines.get(key, 0)
        merged.where = loaded.where
    combined = layer(level, merged, at).values
    combined.update(layer(level, _mapping(spec, "vars"), at).values)
    return Layer(level, combined)


def load(path: Path, read_vars: VarsLoader = load_file, secrets: Secrets = NO_SECRETS) -> Inventory:
    """Load and validate an inventory (configurator's YAML, Ansible INI/YAML, a script, an ssh_config); errors name
    file:line."""
    data = load_source(path, secrets, TOP_KEYS)
    if not isinstance(data, Mapping):
        raise InputError("an inventory must be a mapping with `hosts:`", Location(str(path), 1))
    _check_keys(data, TOP_KEYS, "the inventory")
    ssh = data.get("ssh")
    if ssh is not None:
        _expect(ssh, dict, "ssh", data.where_of("ssh"))
        _check_keys(ssh, SSH_KEYS, "ssh")
    base_ssh = _ssh(ssh, Ssh(), "ssh")
    base_ssh = _resolve_paths(base_ssh, path.parent)
    inv_vars = _vars("inventory vars", data, data.where, path.parent, read_vars)
    groups = _load_groups(data, path, read_vars)
    hosts = _load_hosts(data, base_ssh, inv_vars, groups, path, read_vars)
    rolling.check({g.name: g.rolling for g in groups.values()}, hosts)
    roles_path = tuple((path.parent / p).resolve() for p in _names_or_paths(data.get("roles_path"), data))
    return Inventory(path, hosts, groups, roles_path, _resource_paths(data, path.parent))


def _names_or_paths(value: Any, data: Mapping, key: str = "roles_path") -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in _expect(value, list, key, data.where_of(key))]


def _resource_paths(data: Mapping, base: Path) -> tuple[Path, ...]:
    """The plugin folders, relative to the inventory like roles_path; each must exist."""
    folders = [(base / Path(p).expanduser()).resolve()
               for p in _names_or_paths(data.get("resource_paths"), data, "resource_paths")]
    for folder in folders:
        if not folder.is_dir():
            raise InputError(f"resource_paths: {folder} is not a folder", data.where_of("resource_paths"))
    return tuple(folders)


def _resolve_paths(ssh: Ssh, base: Path) -> Ssh:
    def fix(p: str | None) -> str | None:
        return None if p is None else str((base / Path(p).expanduser()).resolve())
    return replace(ssh, identity=fix(ssh.identity), known_hosts=fix(ssh.known_hosts))


def _mapping(data: Mapping, key: str) -> Mapping | None:
    value = data.get(key)
    if value is None:
        return None
    return _expect(value, dict, key, data.where_of(key))  # type: ignore[no-any-return]


def _load_groups(data: Mapping, path: Path, read_vars: VarsLoader) -> dict[str, Group]:
    groups: dict[str, Group] = {}
    raw = _mapping(data, "groups") or Mapping()
    for name, spec in raw.items():
        at = raw.where_of(name)
        if not NAME.match(name):
            raise InputError(f"group name {name!r} is not valid", at, "letters, digits, '_', '.', '-'")
        spec = spec if spec is not None else Mapping()
        _expect(spec, dict, f"group {name}", at)
        if isinstance(spec, Mapping):
            _check_keys(spec, GROUP_KEYS, f"group {name}")
        get = spec.get
        groups[name] = Group(
            name, _names(get("hosts"), f"group {name} hosts", at),
            _names(get("children"), f"group {name} children", at), _names(get("roles"), f"group {name} roles", at),
            _vars(f"group vars ({name})", spec, at, path.parent, read_vars), rolling.parse(spec, name, at), at)
    for group in groups.values():
        for child in group.children:
            if child not in groups:
                raise InputError(f"group {group.name} has unknown child group {child!r}", group.where)
    return groups


def _memberships(groups: dict[str, Group]) -> dict[str, set[str]]:
    """host name -> every group it belongs to, directly or through children."""
    members: dict[str, set[str]] = {}

    def hosts_of(name: str, seen: tuple[str, ...]) -> set[str]:
        if name in seen:
            raise InputError(f"group children form a cycle: {' -> '.join(seen + (name,))}", groups[name].where)
        group = groups[name]
        found = set(group.hosts)
        for child in group.children:
            found |= hosts_of(child, seen + (name,))
        return found

    for name in groups:
        for host in hosts_of(name, ()):
            members.setdefault(host, set()).add(name)
    return members


def _load_hosts(data: Mapping, base_ssh: Ssh, inv_vars: Layer, groups: dict[str, Group],
                path: Path, read_vars: VarsLoader) -> dict[str, Host]:
    raw = _mapping(data, "hosts")
    if not raw:
        raise InputError("the inventory has no hosts", data.where, "add a `hosts:` mapping")
    members = _memberships(groups)
    for host, _ in members.items():
        if host not in raw:
            group = next(g for g in groups.values() if host in g.hosts or g.name in members[host])
            raise InputError(f"group {group.name} names unknown host {host!r}", group.where)
    hosts: dict[str, Host] = {}
    for name, spec in raw.items():
        at = raw.where_of(name)
        if not NAME.match(name):
            raise InputError(f"host name {name!r} is not valid", at,
                             "use letters, digits, '_', '.', '-'; it must not start with '-'")
        spec = spec if spec is not None else Mapping()
        _expect(spec, dict, f"host {name}", at)
        if isinstance(spec, Mapping):
            _check_keys(spec, HOST_KEYS, f"host {name}")
        address = _expect(spec.get("address", name), str, f"host {name} address", at)
        if "address" in spec:  # the host's name (the default) may be an ssh config alias: NAME checked it
            values.check_address(address, f"host {name} address", at)
        ssh = _resolve_paths(_ssh(spec, Ssh(), f"host {name}"), path.parent)
        ssh = replace(base_ssh, given=base_ssh.given | ssh.given, **{k: getattr(ssh, k) for k in spec if k in SSH_KEYS})
        in_groups = tuple(g for g in groups if g in members.get(name, set()))
        roles: list[str] = []
        for group_name in in_groups:
            roles += [r for r in groups[group_name].roles if r not in roles]
        roles += [r for r in _names(spec.get("roles"), f"host {name} roles", at) if r not in roles]
        own = _vars("host vars", spec, at, path.parent, read_vars) if isinstance(spec, Mapping) else \
            layer("host vars", None, at)
        layers = (inv_vars, *(groups[g].vars for g in in_groups), own)
        kind = values.connection(spec.get("connection", "ssh"), f"host {name} connection",
                                 spec.where_of("connection") if "connection" in spec else at)
        hosts[name] = Host(name, address, ssh, in_groups, tuple(roles), layers, at, kind)
    return hosts


_PATTERN = re.compile(r"^!?[A-Za-z0-9_.*?\[\]-]+\Z")


def select_names(inventory: Inventory, pattern: str | None) -> list[str]:
    """Host names matched by a --limit pattern, in inventory order."""
    if not pattern:
        return list(inventory.hosts)
    chosen: set[str] = set()
    excluded: set[str] = set()
    parts = [p.strip() for p in re.split(r"[,:]", pattern) if p.strip()]
    if not parts:
        raise InputError(f"--limit {pattern!r} names no host", Location("--limit"))
    for part in parts:
        if not _PATTERN.match(part) or part.lstrip("!").startswith("-"):
            raise InputError(f"--limit pattern {part!r} is not valid", Location("--limit"),
                             "use host or group names, globs like web*, and !name to exclude")
        target = excluded if part.startswith("!") else chosen
        matched = _match(inventory, part.lstrip("!"))
        if not matched:
            raise InputError(f"--limit pattern {part!r} matches no host or group", Location("--limit"),
                             "`configure hosts INVENTORY` lists them")
        target |= matched
    if all(p.startswith("!") for p in parts):
        chosen = set(inventory.hosts)
    return [n for n in inventory.hosts if n in chosen and n not in excluded]


def _match(inventory: Inventory, term: str) -> set[str]:
    names = {h for h in inventory.hosts if fnmatch.fnmatchcase(h, term)}
    for group in inventory.groups.values():
        if fnmatch.fnmatchcase(group.name, term):
            names |= {h.name for h in inventory.hosts.values() if group.name in h.groups}
    return names
