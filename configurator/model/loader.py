"""Safe YAML loading that keeps line numbers and rejects duplicate keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from configurator.errors import InputError, Location

# Parsing with line numbers costs about 80 times a file's size in memory and 2-4 s of CPU a MiB here
# (a 50 MiB vars file: over 3 minutes, 4 GB): a larger inventory or vars file is refused before it is
# read (docs/inventory.md)
MAX_SIZE = 10 * 1024 * 1024

class Mapping(dict[str, Any]):
    """A YAML mapping that remembers where it and each of its keys came from."""

    where: Location
    key_lines: dict[str, int]

    def where_of(self, key: str) -> Location:
        """The location of `key` in its file (falls back to the mapping's own)."""
        return Location(self.where.path, self.key_lines.get(key, self.where.line))


class Sequence(list[Any]):
    """A YAML sequence that remembers where it and each item came from."""

    where: Location
    item_lines: list[int]

    def where_of(self, index: int) -> Location:
        """The location of item `index`."""
        return Location(self.where.path, self.item_lines[index])


# libyaml's parser when PyYAML was built with it: the same nodes and marks, parsed ~5x faster
_BASE: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BASE):  # type: ignore[misc,valid-type]
    """SafeLoader with line-tracking containers and no duplicate keys."""

    source = "<string>"

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Mapping:
        result = Mapping()
        result.where = Location(self.source, node.start_mark.line + 1)
        result.key_lines = {}
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str | int | float | bool) or key is None:
                raise InputError(f"mapping key {key!r} must be a plain string", Location(self.source, line))
            key = str(key)
            if key in result:
                first = result.key_lines[key]
                raise InputError(
                    f"duplicate key {key!r} (first defined on line {first})",
                    Location(self.source, line),
                    "remove one of them",
                )
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[key] = line
        return result

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> Sequence:
        result = Sequence(self.construct_object(child, deep=True) for child in node.value)
        result.where = Location(self.source, node.start_mark.line + 1)
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_sequence)
Loader = _Loader  # the base of a loader that accepts one more tag (Ansible vars files: `!vault`)


def load_text(text: str, source: str, loader_class: type[_Loader] = _Loader) -> Any:
    """Parse YAML text; errors name `source:line`."""
    if len(text) > MAX_SIZE:
        raise _too_large(len(text), Location(source))
    loader = loader_class(text)
    loader.source = source
    try:
        return loader.get_single_data()
    except InputError:
        raise
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        what = "NUL byte" if exc.character == 0 else f"control character U+{exc.character:04X}"
        raise InputError(f"{what} not allowed in YAML", Location(source, line), "remove it") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        problem = exc.problem or "invalid YAML"
        if "could not determine a constructor" in str(exc):
            problem = f"YAML tag not allowed: {problem.split('tag ')[-1]}"
        raise InputError(problem, Location(source, line), "only plain YAML is accepted") from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", Location(source)) from None
    finally:
        loader.dispose()


def load_file(path: Path) -> Any:
    """Read and parse a YAML file, with a clear error when it is missing, too large or not UTF-8."""
    return load_text(read_text(path), str(path))


def read_text(path: Path) -> str:
    """A file's text, with a clear error when it is missing, too large or not UTF-8."""
    try:
        text = read_bounded(path).decode("utf-8")
    except FileNotFoundError:
        raise InputError("file not found", Location(str(path))) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", Location(str(path))) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", Location(str(path))) from None
    return text


def read_bounded(path: Path, limit: int = MAX_SIZE) -> bytes:
    """At most `limit` bytes of a file: a larger one is refused after `limit + 1` bytes, never read whole
    (its size may change after a stat, and a device such as /dev/zero has none)."""
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise _too_large(len(data), Location(str(path)), limit)
    return data


def _too_large(size: int, at: Location, limit: int = MAX_SIZE) -> InputError:
    return InputError(f"file is larger than {limit // 2**20} MiB (at least {size} bytes)", at,
                      "keep large data in files a role ships, not in variables")


def where(value: Any, key: str | None = None, default: Location | None = None) -> Location:
    """Best-known location of a loaded value or of one of its keys."""
    if isinstance(value, Mapping):
        return value.where_of(key) if key is not None else value.where
    if isinstance(value, Sequence):
        return value.where
    return default or Location("<unknown>")


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes the loader's line-tracking containers as plain mappings and lists."""


_Dumper.add_multi_representer(dict, _Dumper.represent_dict)
_Dumper.add_multi_representer(list, _Dumper.represent_list)
_Dumper.add_multi_representer(tuple, _Dumper.represent_list)


def dump(value: Any) -> str:
    """`value` as block-style YAML, keys in their order (the templates' `to_yaml` filter)."""
    return str(yaml.dump(value, Dumper=_Dumper, default_flow_style=False, sort_keys=False))


Written = tuple[Any, Location]  # a value and where it was set


class Placed(Mapping):
    """A mapping whose keys each keep their own file:line (Ansible vars may come from several files)."""

    places: dict[str, Location]

    def where_of(self, key: str) -> Location:
        return self.places.get(key, self.where)


def placed(values: dict[str, Written], where: Location) -> Placed:
    """A `Placed` mapping from (value, location) pairs."""
    result = Placed((k, v) for k, (v, _) in values.items())
    result.where, result.key_lines = where, {}
    result.places = {k: at for k, (_, at) in values.items()}
    return result
