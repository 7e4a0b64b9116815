"""Ansible's INI inventory format: `[group]`, `[group:vars]`, `[group:children]`, host lines with vars.

A value that is a Python literal is read as one (`port=22` is a number, `x="a b"` a string, `l=[1, 2]` a
list; nothing is evaluated), on a host line and in a `:vars` section alike, as ansible-core 2.19 reads them.
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path
from typing import Any

from configurator.errors import InputError, Location
from configurator.model.ansible_draft import Draft, expand

_SECTION = re.compile(r"^\[([^\[\]:]+)(?::(vars|children))?\]\s*(?:[#;].*)?\Z")
_HOST_PORT = re.compile(r"^(.*[^:\]]):(\d+)\Z")  # name:port (not an IPv6 address)


def parse(text: str, path: Path) -> Draft:
    """The draft inventory of INI `text`; every error names path:line."""
    draft = Draft(path)
    group, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), 1):
        line, at = raw.strip(), Location(str(path), number)
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            group, kind = _section(line, at, draft)
        elif kind == "vars":
            key, value = _assignment(line, at)
            draft.group(group, at).vars[key] = (value, at)
        elif kind == "children":
            child = _one_word(line, at, "a child group")
            draft.group(child, at)  # a child named before (or without) its own section is an empty group
            draft.group(group, at).add_child(child, at)
        else:
            _host_line(line, at, group, draft)
    return draft


def _section(line: str, at: Location, draft: Draft) -> tuple[str, str]:
    match = _SECTION.match(line)
    if not match:
        raise InputError(f"not a section header: {line[:60]!r}", at, "[group], [group:vars] or [group:children]")
    name, kind = match.group(1).strip(), match.group(2) or "hosts"
    draft.group(name, at)
    return name, kind


def _assignment(line: str, at: Location) -> tuple[str, str]:
    key, sep, value = line.partition("=")
    if not sep or not key.strip():
        raise InputError(f"expected NAME=VALUE in a vars section, got {line[:60]!r}", at)
    return _var_name(key.strip(), at), _literal(value.strip())


def _one_word(line: str, at: Location, what: str) -> str:
    words = _words(line, at)
    if len(words) != 1:
        raise InputError(f"expected {what}, got {line[:60]!r}", at)
    return words[0]


def _words(line: str, at: Location) -> list[str]:
    try:
        return shlex.split(line, comments=True)
    except ValueError as exc:
        raise InputError(f"cannot split the line: {exc}", at, "check the quotes") from None


def _host_line(line: str, at: Location, group: str, draft: Draft) -> None:
    """`name[:port] key=value ...`; a range in the name gives several hosts."""
    words = _words(line, at)
    if not words:
        return
    pattern, port = words[0], None
    match = _HOST_PORT.match(pattern)
    if match:
        pattern, port = match.group(1), int(match.group(2))
    pairs: dict[str, Any] = {} if port is None else {"ansible_port": port}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep:
            raise InputError(f"expected NAME=VALUE after the host name, got {word[:60]!r}", at)
        pairs[_var_name(key, at)] = _literal(value)
    for name in expand(pattern, at):
        draft.host(name, at, group).update({k: (v, at) for k, v in pairs.items()})


def _var_name(key: str, at: Location) -> str:
    if not key.isidentifier():
        raise InputError(f"{key[:60]!r} is not a valid variable name", at, "letters, digits and '_'")
    return key


def _literal(text: str) -> Any:
    """A host-line value: a Python literal when it is one (bounded in size), else the text."""
    if len(text) > 10_000 or not text:
        return text
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return text

