"""A project's own resource types: `*.py` files in the inventory's `resource_paths` and installed packages.

A plugin file declares its types in a module-level `RESOURCES = {"type_name": Class}`; a package
declares each type as an entry point in the `configurator.resources` group (`type_name = "module:Class"`).
Every problem in a plugin is an InputError (exit 65) that names the plugin file, found before any connection.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.metadata
import importlib.util
import inspect
import os
import re
import sys
import traceback
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from configurator.errors import InputError, Location
from configurator.resources import TYPES, Registry
from configurator.resources.base import Resource

GROUP = "configurator.resources"
NAME = re.compile(r"^[a-z][a-z0-9_]*\Z")
# model.catalog.META_KEYS: keys role.yml sets beside a type
RESERVED = {"notify", "when", "for_each", "tags", "checkable"}


def load(folders: Sequence[Path], points: Iterable[importlib.metadata.EntryPoint] | None = None) -> Registry:
    """The run's registry: built-ins, then each folder's plugin files, then installed entry points."""
    found: dict[str, tuple[type[Resource[Any]], str]] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.py")):
            if not path.name.startswith("_"):  # _helpers.py and __init__.py are not plugins
                for name, cls in from_file(path).items():
                    _add(found, name, cls, str(path))
    for point in installed() if points is None else points:
        where = _point_file(point)
        _add(found, point.name, _from_point(point, where), f"{where} ({_point_label(point)})")
    return Registry({n: c for n, (c, _) in found.items()}, {n: o for n, (_, o) in found.items()})


def installed() -> Sequence[importlib.metadata.EntryPoint]:
    """The entry points installed packages declare in the `configurator.resources` group."""
    if not _may_declare(sys.path, sys.meta_path):
        return ()
    return tuple(importlib.metadata.entry_points(group=GROUP))


def _may_declare(paths: Sequence[str], finders: Sequence[object]) -> bool:
    """Whether an installed package may declare the group: a quick look at the `entry_points.txt` files
    that importlib.metadata would read, which costs a run a few milliseconds less when none does.
    Anything it cannot look into (a zip on the path, a finder of other distributions) counts as yes."""
    if any(hasattr(f, "find_distributions") for f in finders if f is not importlib.machinery.PathFinder):
        return True
    header = f"[{GROUP}]"
    for folder in paths:
        try:
            entries = list(os.scandir(folder or "."))
        except NotADirectoryError:
            return True  # a zip file on the path
        except OSError:
            continue  # no such folder: nothing is installed there
        for entry in entries:
            if entry.name.endswith(".egg"):
                return True
            if entry.name.endswith((".dist-info", ".egg-info")) and header in _entry_points_text(entry.path):
                return True
    return False


def _entry_points_text(folder: str) -> str:
    try:
        return Path(folder, "entry_points.txt").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def from_file(path: Path) -> dict[str, type[Resource[Any]]]:
    """The types one plugin file declares in `RESOURCES`, each checked against the resource contract."""
    module = _import(path)
    declared = module.__dict__.get("RESOURCES")
    if not isinstance(declared, dict) or not declared:
        raise InputError("a resource plugin must declare its types: RESOURCES = {\"type_name\": Class}",
                         Location(str(path)))
    return {name: check(name, cls, str(path)) for name, cls in declared.items()}


def check(name: object, cls: object, origin: str) -> type[Resource[Any]]:
    """Refuse a type that the engine could not use, naming where it was declared."""
    if not isinstance(name, str) or not NAME.match(name) or name in RESERVED:
        raise InputError(f"resource type name {name!r} must be lower case letters, digits and '_' "
                         f"(and not {', '.join(sorted(RESERVED))})", Location(origin))
    if not isinstance(cls, type):
        raise InputError(f"resource type {name!r} must be a class, got {type(cls).__name__}", Location(origin))
    problem = _contract_problem(name, cls)
    if problem or not issubclass(cls, Resource):
        raise InputError(f"resource type {name!r}: {cls.__name__} {problem}", _class_location(cls, origin))
    return cls


def _contract_problem(name: str, cls: type) -> str:
    """What keeps `cls` from being a resource type registered as `name` ("" when nothing does)."""
    if not issubclass(cls, Resource):
        return "must subclass configurator.resources.base.Resource"
    params = cls.__dict__.get("__dataclass_params__")  # set by @dataclass on this very class
    if params is None or not params.frozen:
        return "must be a frozen dataclass: @dataclass(frozen=True)"
    if inspect.isabstract(cls):
        return f"lacks {', '.join(sorted(cls.__abstractmethods__))} (abstract in Resource)"
    if cls.__dict__.get("type") != name:
        return f"must set type: ClassVar[str] = {name!r} (it has {cls.__dict__.get('type')!r})"
    try:
        typing.get_type_hints(cls)
    except Exception as error:  # an annotation naming something the module never imported
        return f"has an annotation that cannot be resolved: {error}"
    return ""


def _add(found: dict[str, tuple[type[Resource[Any]], str]], name: str, cls: type[Resource[Any]], origin: str) -> None:
    """Register one plugin type; a built-in or another plugin of the same name is an error naming both."""
    at = _class_location(cls, origin)
    if name in TYPES:
        module = TYPES[name].partition(":")[0]
        raise InputError(f"resource type {name!r} from {origin} would shadow the built-in type {name!r} "
                         f"(configurator/resources/{module}.py)", at, "give the plugin type another name")
    if name in found:
        raise InputError(f"resource type {name!r} is declared twice: in {found[name][1]} and in {origin}", at)
    found[name] = (cls, origin)


def _import(path: Path) -> ModuleType:
    """Run a plugin file under a private module name; any failure names the file and line."""
    stem = re.sub(r"\W", "_", path.stem)
    name = f"_configurator_plugin_{hashlib.sha256(str(path).encode()).hexdigest()[:12]}_{stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise InputError("cannot be loaded as a Python module", Location(str(path)))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and get_type_hints find a class's module by its name
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as error:
        sys.modules.pop(name, None)
        raise failure(error, str(path)) from error
    return module


def failure(error: BaseException, path: str) -> InputError:
    """The InputError for an exception raised while importing the plugin file `path` (with its line if known)."""
    lines = [f.lineno for f in traceback.extract_tb(error.__traceback__) if f.filename == path]
    if isinstance(error, SyntaxError) and error.filename == path:
        lines.append(error.lineno or 0)
    elsewhere = ""
    if isinstance(error, SyntaxError) and error.filename != path:
        elsewhere = f" in {error.filename}:{error.lineno}"
    kind = "has a syntax error" if isinstance(error, SyntaxError) else "failed to import"
    detail = error.msg if isinstance(error, SyntaxError) else f"{type(error).__name__}: {error}"
    where = Location(path, lines[-1] or 0) if lines else Location(path)
    return InputError(f"resource plugin {kind}: {detail}{elsewhere}", where)


def _class_location(cls: type, origin: str) -> Location:
    """Where `cls` is defined (file:line), or the plugin's origin when Python cannot tell."""
    try:
        return Location(inspect.getsourcefile(cls) or origin, inspect.getsourcelines(cls)[1])
    except (OSError, TypeError):
        return Location(origin)


def _point_file(point: importlib.metadata.EntryPoint) -> str:
    """The file an entry point's module lives in (its module name when Python cannot tell)."""
    try:
        spec = importlib.util.find_spec(point.module)
    except (Exception, SystemExit):  # the package's parent failed to import: loading will say why
        spec = None
    return spec.origin if spec is not None and spec.origin else point.module


def _point_label(point: importlib.metadata.EntryPoint) -> str:
    """`entry point env_var = pkg.mod:EnvVar of pkg`: which declaration of which package."""
    dist = f" of {point.dist.name}" if point.dist is not None else ""
    return f"entry point {point.name} = {point.value}{dist}"


def _from_point(point: importlib.metadata.EntryPoint, path: str) -> type[Resource[Any]]:
    """The class an installed entry point names, checked against the resource contract."""
    try:
        cls = point.load()
    except (Exception, SystemExit) as error:
        problem = failure(error, path)
        raise InputError(f"{problem.message} ({_point_label(point)})", problem.where) from error
    return check(point.name, cls, path)
