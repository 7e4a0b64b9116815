"""Turn role.yml arguments into resource values, with errors that say what and where."""

from __future__ import annotations

import dataclasses
import functools
import re
import shlex
import types
import typing
from typing import Any

from configurator.errors import InputError, Location
from configurator.resources.base import Resource

MODE = re.compile(r"^0?[0-7]{3,4}\Z")
SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@:+-]*\Z")


def build(cls: type, args: dict[str, Any], where: Location, what: str,
          trusted: frozenset[str] = frozenset()) -> Resource[Any]:
    """An instance of resource class `cls` from checked `args` (`trusted`: internal keys the catalog set)."""
    hints, fields = _shape(cls)
    values: dict[str, Any] = {}
    for key, value in args.items():
        f = fields.get(key)
        if f is None or (f.metadata.get("internal") and key not in trusted):
            allowed = ", ".join(sorted(n for n, f in fields.items() if not f.metadata.get("internal")))
            raise InputError(f"{what}: unknown argument {key!r}", where, f"allowed: {allowed}")
        values[f.name] = convert(hints[f.name], value, key, where, what)
    missing = [n for n, f in fields.items() if f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING and f.name not in values]
    if missing:
        raise InputError(f"{what}: missing required argument {missing[0]!r}", where)
    resource = cls(**values)
    if not isinstance(resource, Resource):
        raise TypeError(f"{cls.__name__} is not a subclass of configurator.resources.base.Resource")
    problems = _common_checks(resource) + resource.validate()
    if problems:
        raise InputError(f"{what}: {problems[0]}", where)
    return resource


def argument(f: dataclasses.Field[Any]) -> str:
    """The name a field has in role.yml: its own, or the `arg` it declares (File's `validate`)."""
    name: str = f.metadata.get("arg", f.name)
    return name


@functools.cache
def _shape(cls: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field[Any]]]:
    """A resource class's field types and its fields by argument name, worked out once per class."""
    return typing.get_type_hints(cls), {argument(f): f for f in dataclasses.fields(cls)}


def convert(hint: Any, value: Any, key: str, where: Location, what: str) -> Any:
    """Check and convert one argument to the field's type."""
    origin, params = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in params:
            return None
        inner = [p for p in params if p is not type(None)]
        return convert(inner[0], value, key, where, what)
    if origin is typing.Literal:
        if value not in params:
            raise InputError(f"{what}: {key} must be one of {', '.join(map(str, params))}, got {value!r}", where)
        return value
    if key == "mode":
        return _mode(value, where, what)
    if hint is bytes:
        if isinstance(value, bytes):
            return value
        return _text(value, key, where, what).encode("utf-8")
    if hint is str:
        return _text(value, key, where, what)
    if hint is bool:
        if not isinstance(value, bool):
            raise InputError(f"{what}: {key} must be true or false, got {value!r}", where)
        return value
    if hint is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise InputError(f"{what}: {key} must be a whole number, got {value!r}", where)
        return value
    if origin is tuple:
        if params and params[0] is not str:  # structured items (zone records): their type checks them
            return tuple(_list(value, key, where, what))
        return _items(value, key, where, what)
    if origin is dict:
        if not isinstance(value, dict):
            raise InputError(f"{what}: {key} must be a mapping, got {_short(value)}", where)
        if params and params[1] is Any:  # structured data (the inventory view), as the template gave it
            return {str(k): v for k, v in value.items()}
        return {str(k): _text(v, f"{key}.{k}", where, what) for k, v in value.items()}
    raise InputError(f"{what}: {key} has an unsupported type", where)


def _text(value: Any, key: str, where: Location, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        kind = "a number with a fraction" if isinstance(value, float) else type(value).__name__
        raise InputError(f"{what}: {key} must be a string, got {kind} {value!r}", where,
                         "quote it in YAML")
    return str(value)


def _items(value: Any, key: str, where: Location, what: str) -> tuple[str, ...]:
    if key in ("validate", "argv", "unless", "onlyif") and isinstance(value, str):
        value = shlex.split(value)
    return tuple(_text(v, key, where, what) for v in _list(value, key, where, what))


def _list(value: Any, key: str, where: Location, what: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise InputError(f"{what}: {key} must be a list, got {_short(value)}", where)
    return list(value)


def _short(value: Any) -> str:
    """A value as an error message shows it: its repr, cut short (a whole inventory is long)."""
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


def _mode(value: Any, where: Location, what: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        raise InputError(f"{what}: mode {value} is a number (YAML reads 644 as decimal, 0644 as octal)",
                         where, f'write it as a quoted string: mode: "0{value}"'.replace('"00', '"0'))
    if not isinstance(value, str) or not MODE.match(value):
        raise InputError(f"{what}: mode {value!r} is not an octal mode", where, 'e.g. mode: "0644"')
    return value if len(value) == 4 else "0" + value


def _common_checks(resource: Any) -> list[str]:
    problems: list[str] = []
    for f in dataclasses.fields(resource):
        value = vars(resource)[f.name]
        is_path = f.name in ("path", "home", "chdir", "creates", "removes") and isinstance(value, str)
        if is_path and (not value.startswith("/") or "\n" in value or "\0" in value):
            problems.append(f"{f.name} {value!r} must be an absolute path on one line")
        if f.name in ("owner", "group") and isinstance(value, str) and not SAFE_NAME.match(value):
            problems.append(f"{f.name} {value!r} is not a valid user or group name")
        if f.name == "name" and isinstance(value, str) and (
                not value or value.startswith("-") or any(c.isspace() for c in value)):
            problems.append(f"name {value!r} must not be empty, start with '-' or contain spaces")
    return problems
