"""Roles: folders with role.yml (description, depends, defaults, resources, handlers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from configurator.errors import InputError, Location
from configurator.model import tags
from configurator.model.loader import Mapping, Sequence, load_file

PACKAGE = Path(__file__).resolve().parent.parent  # the configurator package


def builtin_dir(package: Path = PACKAGE) -> Path:
    """The built-in roles: in the package when installed from a wheel or sdist, else the checkout's roles/."""
    packaged = package / "builtin_roles"  # roles/ mapped into the package at build time (setup.py)
    return packaged if packaged.is_dir() else package.parent / "roles"


BUILTIN = builtin_dir()
ROLE_KEYS = {"description", "depends", "defaults", "resources", "handlers", "tags"}


@dataclass(frozen=True)
class Role:
    """A loaded role (data only; resources are built per host by the catalog)."""

    name: str
    path: Path
    description: str
    depends: tuple[str, ...]
    defaults: Mapping
    resources: Sequence
    handlers: Mapping
    where: Location
    tags: tuple[str, ...] = ()  # given to each of its resources (`--tags`)
    # (kind, src) -> checked path of a template or file: checked once per run, not once per host
    sources: dict[tuple[str, str], Path] = field(default_factory=dict, compare=False, repr=False)
    texts: dict[Path, str] = field(default_factory=dict, compare=False, repr=False)  # template files read


def search_path(extra: tuple[Path, ...]) -> tuple[Path, ...]:
    """Where roles are looked up: the inventory's roles_path, then the built-in roles."""
    return (*extra, BUILTIN)


def find(name: str, path: tuple[Path, ...], where: Location) -> Path:
    """The folder of role `name`, first match on the search path."""
    for base in path:
        candidate = base / name / "role.yml"
        if candidate.is_file():
            return candidate.parent
    searched = ", ".join(str(p) for p in path)
    raise InputError(f"undefined role {name!r}", where, f"no {name}/role.yml in {searched}")


def load(name: str, path: tuple[Path, ...], where: Location) -> Role:
    """Load one role's role.yml and check its shape."""
    folder = find(name, path, where)
    data = load_file(folder / "role.yml")
    if data is None:
        data = Mapping()
        data.where, data.key_lines = Location(str(folder / "role.yml"), 1), {}
    if not isinstance(data, Mapping):
        raise InputError("role.yml must be a mapping", Location(str(folder / "role.yml"), 1))
    for key in data:
        if key not in ROLE_KEYS:
            raise InputError(f"unknown key {key!r} in role {name}", data.where_of(key),
                             f"allowed: {', '.join(sorted(ROLE_KEYS))}")
    depends = data.get("depends") or Sequence()
    resources = data.get("resources") or _empty_seq(data.where)
    handlers = data.get("handlers") or _empty_map(data.where)
    defaults = data.get("defaults") or _empty_map(data.where)
    for key, value, kind in (("depends", depends, list), ("resources", resources, list),
                             ("handlers", handlers, dict), ("defaults", defaults, dict)):
        if not isinstance(value, kind):
            raise InputError(f"{key} must be a {kind.__name__}", data.where_of(key))
    own_tags = tags.parse(data.get("tags"), data.where_of("tags") if "tags" in data else data.where)
    return Role(name, folder, str(data.get("description", "")), tuple(str(d) for d in depends),
                defaults, resources, handlers, data.where, own_tags)


def _empty_seq(where: Location) -> Sequence:
    seq = Sequence()
    seq.where, seq.item_lines = where, []
    return seq


def _empty_map(where: Location) -> Mapping:
    mapping = Mapping()
    mapping.where, mapping.key_lines = where, {}
    return mapping


def resolve(names: tuple[str, ...], path: tuple[Path, ...], where: Location,
            cache: dict[str, Role] | None = None) -> list[Role]:
    """Roles with their dependencies first, each once; a cycle is an error."""
    cache = {} if cache is None else cache
    ordered: list[Role] = []
    done: set[str] = set()

    def visit(name: str, chain: tuple[str, ...], at: Location) -> None:
        if name in chain:
            raise InputError(f"role dependency cycle: {' -> '.join(chain + (name,))}", at)
        if name in done:
            return
        role = cache.get(name) or load(name, path, at)
        cache[name] = role
        for dep in role.depends:
            visit(dep, chain + (name,), role.where)
        done.add(name)
        ordered.append(role)

    for name in names:
        visit(name, (), where)
    return ordered
