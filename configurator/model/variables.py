"""Variables merged in one documented order, each value remembering where it came from.

Order (later wins): role defaults < inventory vars < group vars (inventory order)
< host vars < --var. Top-level keys replace; mappings are not deep-merged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from configurator.errors import InputError, Location
from configurator.model.loader import Mapping as YamlMapping
from configurator.model.loader import load_text


@dataclass(frozen=True)
class Sourced:
    """A value, the level that set it (e.g. `group vars (web)`) and its file:line."""

    value: Any
    level: str
    where: Location

    def describe(self) -> str:
        return f"{self.level} ({self.where})"


@dataclass(frozen=True)
class Layer:
    """One level's variables, with their locations."""

    level: str
    values: dict[str, Sourced]


def layer(level: str, data: Mapping[str, Any] | None, fallback: Location) -> Layer:
    """A layer from a loaded mapping; keys keep their file:line."""
    values: dict[str, Sourced] = {}
    for key, value in (data or {}).items():
        where = data.where_of(key) if isinstance(data, YamlMapping) else fallback
        values[key] = Sourced(value, level, where)
    return Layer(level, values)


def merge(layers: Iterable[Layer]) -> dict[str, Sourced]:
    """Merge layers in order; a later layer's key replaces an earlier one's."""
    merged: dict[str, Sourced] = {}
    for each in layers:
        merged.update(each.values)
    return merged


def plain(merged: Mapping[str, Sourced]) -> dict[str, Any]:
    """Just the values."""
    return {key: sourced.value for key, sourced in merged.items()}


def parse_cli_vars(items: Iterable[str]) -> Layer:
    """`--var k=v` items; the value is read as YAML (`--var port=8080` gives an int)."""
    values: dict[str, Sourced] = {}
    for item in items:
        key, sep, text = item.partition("=")
        where = Location(f"--var {key}")
        if not sep or not key.isidentifier():
            raise InputError(f"--var {item!r} is not NAME=VALUE", where, "e.g. --var http_port=8080")
        values[key] = Sourced(load_text(text, f"--var {key}") if text else "", "--var", where)
    return Layer("--var", values)
