"""The catalog: one host's ordered resources, built from its roles and merged variables."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from configurator.errors import InputError, Location
from configurator.model import roles as roles_mod
from configurator.model import templates
from configurator.model.context import inventory_view, template_context
from configurator.model.inventory import Host, Inventory
from configurator.model.loader import where
from configurator.model.tags import parse as tag_names
from configurator.model.variables import Layer, Sourced, layer, merge, plain
from configurator.output.redaction import Redactor
from configurator.resources import BUILT_IN, Registry, plugins
from configurator.resources.base import Resource
from configurator.resources.schema import build

META_KEYS = {"notify", "when", "for_each", "tags", "checkable"}
STREAM_OVER = 1 << 20  # `file: {src}` larger than this is streamed over SFTP instead of held in memory
# Resources already built in this run, by type, trusted keys and the repr of their arguments: hosts that
# render a role alike share its resources (values: frozen) instead of checking the same arguments again.
Built = dict[tuple[type, frozenset[str], str], Resource[Any]]
MEMO_OVER = 4096  # arguments longer than this (as repr) are built each time: keys stay small


@dataclass(frozen=True)
class Entry:
    """A resource in a host's catalog, with its origin, handlers to notify and deferred condition."""

    resource: Resource[Any]
    role: str
    where: Location
    notify: tuple[str, ...] = ()
    when: str | None = None  # a condition on facts, decided after the probe
    tags: tuple[str, ...] = ()  # its own `tags:` and its role's (`--tags` / `--skip-tags` select on them)
    checkable: bool = True  # False: drift cannot tell whether it drifted (lists it apart, never as drift)


@dataclass(frozen=True)
class Catalog:
    """Everything one host should be."""

    host: Host
    variables: dict[str, Sourced]
    entries: tuple[Entry, ...]
    handlers: dict[str, Entry]
    roles: tuple[roles_mod.Role, ...]
    context: dict[str, Any] = field(default_factory=dict)  # what templates and `when:` saw (model.context)


def build_catalog(host: Host, inventory: Inventory, cli_vars: Layer,
                  cache: dict[str, roles_mod.Role] | None = None,
                  view: dict[str, Any] | None = None, secrets: Redactor | None = None,
                  kinds: Registry | None = None, built: Built | None = None) -> Catalog:
    """Resolve roles, merge variables and build every resource for `host` (`secrets`: the vault's values).

    `kinds`: the run's resource types (loaded from the inventory's plugins when not given); `built`:
    the resources of the hosts built before, shared by the run.
    """
    kinds = kinds if kinds is not None else plugins.load(inventory.resource_paths)
    search = roles_mod.search_path(inventory.roles_path)
    roles = roles_mod.resolve(host.roles, search, host.where, cache)
    defaults = [layer("role defaults", r.defaults, r.where) for r in roles]
    variables = merge([*defaults, *host.var_layers, cli_vars])
    context = template_context(host, plain(variables), view if view is not None else inventory_view(inventory))
    env = templates.environment()
    entries: list[Entry] = []
    handlers: dict[str, Entry] = {}
    for role in roles:
        for index, item in enumerate(role.resources):
            entries += _expand(env, role, item, role.resources.where_of(index), context, kinds, built)
        for name, spec in role.handlers.items():
            handlers[name] = _entry(env, role, spec, role.handlers.where_of(name), context, kinds, built)
    _check_notify(entries, handlers)
    if secrets:
        entries = [_private(entry, secrets) for entry in entries]
    return Catalog(host, variables, tuple(_dedupe(entries)), handlers, tuple(roles), context)


def _private(entry: Entry, secrets: Redactor) -> Entry:
    """The entry with its resource told the vault's values (a file holding one is kept private)."""
    guarded = entry.resource.guarding(secrets.holds_secret)
    return entry if guarded is entry.resource else dataclasses.replace(entry, resource=guarded)


def _split(item: Any, at: Location, kinds: Registry = BUILT_IN) -> tuple[str, Any, dict[str, Any]]:
    if not isinstance(item, dict):
        raise InputError("a resource must be a mapping like `package: {name: nginx}`", at)
    named = [k for k in item if k not in META_KEYS]
    if len(named) != 1 or named[0] not in kinds:
        unknown = [k for k in named if k not in kinds]
        what = f"unknown resource type {unknown[0]!r}" if unknown else "a resource needs exactly one type"
        raise InputError(what, at, f"types: {', '.join(kinds.names())}")
    meta = {k: item[k] for k in item if k in META_KEYS}
    return named[0], item[named[0]], meta


def _expand(env: jinja2.Environment, role: roles_mod.Role, item: Any, at: Location,
            context: dict[str, Any], kinds: Registry = BUILT_IN, built: Built | None = None) -> list[Entry]:
    _, _, meta = _split(item, at, kinds)
    if "for_each" not in meta:
        entry = _entry(env, role, item, at, context, kinds, built)
        return [entry] if entry is not None else []
    items = _render(env, meta["for_each"], context, at)
    if isinstance(items, dict):
        items = [{"key": k, "value": v} for k, v in items.items()]
    if not isinstance(items, list):
        raise InputError(f"for_each must give a list or mapping, got {type(items).__name__}", at)
    found = [_entry(env, role, item, at, {**context, "item": each}, kinds, built) for each in items]
    return [e for e in found if e is not None]


def _entry(env: jinja2.Environment, role: roles_mod.Role, item: Any, at: Location,
           context: dict[str, Any], kinds: Registry = BUILT_IN, built: Built | None = None) -> Any:
    kind, args, meta = _split(item, at, kinds)
    when = meta.get("when")
    deferred = None
    if when is not None:
        when = str(when)
        if "facts" in templates.names_used(env, when):
            deferred = when
        elif not templates.expression(env, when, context, at):
            return None
    if not isinstance(args, dict):
        raise InputError(f"{kind} needs a mapping of arguments", at)
    written = {k: _render(env, v, context, where(args, k, at)) for k, v in args.items()}
    rendered = written
    cls = kinds.named(kind)
    if issubclass(cls, Resource) and cls.source_folder and (cls.renders_source or "src" in written):
        rendered = _with_source(env, role, kind, cls, written, at, context)
    # only what the catalog itself added (a streamed source) may set internal arguments
    resource = _built(cls, rendered, at, f"{kind} in role {role.name}", frozenset(rendered) - set(written), built)
    notify = meta.get("notify") or ()
    notify = (notify,) if isinstance(notify, str) else tuple(str(n) for n in notify)
    tags = tuple(dict.fromkeys((*role.tags, *tag_names(meta.get("tags"), at))))
    checkable = _checkable(meta.get("checkable", True), at) and resource.checkable
    return Entry(resource, role.name, at, notify, deferred, tags, checkable)


def _built(cls: type, args: dict[str, Any], at: Location, what: str, trusted: frozenset[str],
           built: Built | None) -> Resource[Any]:
    """`build()`, or the resource an earlier host built from the same arguments (only those that built)."""
    if built is None or (key := _memo_key(cls, args, trusted)) is None:
        return build(cls, args, at, what, trusted)
    if key not in built:
        built[key] = build(cls, args, at, what, trusted)
    return built[key]


def _memo_key(cls: type, args: dict[str, Any], trusted: frozenset[str]) -> tuple[type, frozenset[str], str] | None:
    """The arguments as a key, when small: file content (bytes) and long texts are built each time."""
    if any(isinstance(value, bytes) for value in args.values()):
        return None
    text = repr(args)  # plain YAML and template values: repr tells 1, 1.0, True and "1" apart
    return (cls, trusted, text) if len(text) <= MEMO_OVER else None


def _checkable(value: Any, at: Location) -> bool:
    """A resource's `checkable:` (false: drift lists it as not checkable, never as drift)."""
    if not isinstance(value, bool):
        raise InputError("checkable must be true or false", at)
    return value


def _render(env: jinja2.Environment, value: Any, context: dict[str, Any], at: Location) -> Any:
    if isinstance(value, str):
        return templates.render_text(env, value, context, at)
    if isinstance(value, list):
        return [_render(env, v, context, at) for v in value]
    if isinstance(value, dict):
        return {k: _render(env, v, context, where(value, k, at)) for k, v in value.items()}
    return value


def _with_source(env: jinja2.Environment, role: roles_mod.Role, kind: str, cls: type[Resource[Any]],
                 args: dict[str, Any], at: Location, context: dict[str, Any]) -> dict[str, Any]:
    """`src` read from the role's folder for `cls`: rendered, streamed from disk, or as bytes."""
    args = dict(args)
    src = args.pop("src", None)
    if not isinstance(src, str) or not src:
        raise InputError(f"{kind} needs `src`: a file in the role's {cls.source_folder}/ folder", at)
    path = role.sources.get((cls.source_folder, src)) or _source(role, cls.source_folder, src, at)
    if cls.renders_source:
        args["content"] = templates.render_file(env, path, context, role.texts)
    elif path.stat().st_size > STREAM_OVER:
        args["source"], args["source_sha256"] = str(path), _sha256_of(path)  # streamed, never held in memory
    else:
        args["content"] = path.read_bytes()
    return args


def _source(role: roles_mod.Role, name: str, src: str, at: Location) -> Path:
    """The file `src` names inside the role's folder `name` (templates/, files/), remembered on the role."""
    folder = role.path / name
    path = (folder / src).resolve()
    if Path(src).is_absolute() or ".." in Path(src).parts or not path.is_relative_to(folder.resolve()):
        raise InputError(f"src {src!r} must be a relative path inside {folder}", at, "'..' is not allowed")
    if not path.is_file():
        raise InputError(f"src {src!r} not found in {folder}", at)
    role.sources[(name, src)] = path
    return path


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for chunk in iter(lambda: data.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_notify(entries: list[Entry], handlers: dict[str, Entry]) -> None:
    for entry in entries:
        for name in entry.notify:
            if name not in handlers:
                raise InputError(f"notify names unknown handler {name!r}", entry.where,
                                 f"handlers: {', '.join(handlers) or 'none'}")


def _dedupe(entries: list[Entry]) -> list[Entry]:
    """Drop identical repeats; two different declarations of one resource are an error."""
    seen: dict[str, Entry] = {}
    result: list[Entry] = []
    for entry in entries:
        first = seen.get(entry.resource.id)
        if first is None:
            seen[entry.resource.id] = entry
            result.append(entry)
        elif first.resource != entry.resource:
            raise InputError(f"{entry.resource.id} is declared twice with different values "
                             f"(first in role {first.role} at {first.where})", entry.where)
    return result
