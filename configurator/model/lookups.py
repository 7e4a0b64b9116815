"""Templates that only name variables, evaluated without compiling them.

Most role values are `{{ item }}`, `{{ item.path }}` or `{{ base }}/{{ item }}.conf`. Compiling one with
jinja2 costs about a millisecond of a run's start-up; looking the names up costs microseconds. The
lookups below do what jinja2's generated code does (the variable from the context, else a global, else
the environment's undefined; each `.attr` through the environment's sandboxed `getattr`; output through
`str`), and anything else (filters, calls, operators, whitespace control, comments, blocks, line breaks)
is left to jinja2: `compiled()` returns None for it.

    >>> lookup = compiled(environment(), "expression", "item.path")
    >>> lookup(item={"path": "/etc/motd"})
    '/etc/motd'
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # jinja2 itself stays in model/templates.py
    import jinja2

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_OUTPUT = re.compile(r"\{\{ *([A-Za-z0-9_.]+) *\}\}")
# names jinja2 reads as constants or operators, not as variables
_RESERVED = frozenset({"true", "false", "none", "True", "False", "None",
                       "and", "or", "not", "in", "is", "if", "else", "recursive"})


class Lookup:
    """A variable and its attributes, as a compiled jinja2 expression evaluates `name.attr.attr`."""

    def __init__(self, env: jinja2.Environment, names: list[str]) -> None:
        self.env, self.names = env, names

    def __call__(self, **context: Any) -> Any:
        head, *attributes = self.names
        if head in context:
            value = context[head]
        elif head in self.env.globals:
            value = self.env.globals[head]
        else:
            value = self.env.undefined(name=head)
        for attribute in attributes:
            value = self.env.getattr(value, attribute)
        return value


class Substitution:
    """Text with `{{ name.attr }}` outputs in it, rendered as jinja2 renders such a template."""

    def __init__(self, pieces: list[str | Lookup]) -> None:
        self.pieces = pieces

    def render(self, **context: Any) -> str:
        return "".join(p if isinstance(p, str) else str(p(**context)) for p in self.pieces)


def compiled(env: jinja2.Environment, kind: str, source: str) -> Lookup | Substitution | None:
    """The lookup for `source` (kind "expression" or "template"), or None when jinja2 must compile it."""
    if kind == "expression":
        return _lookup(env, source)
    return _substitution(env, source)


def _lookup(env: jinja2.Environment, source: str) -> Lookup | None:
    names = source.split(".")
    if not _DOTTED.match(source) or any(name in _RESERVED for name in names):
        return None
    return Lookup(env, names)


def _substitution(env: jinja2.Environment, source: str) -> Substitution | None:
    """Single-line text with only `{{ dotted }}` outputs (a multi-line one keeps jinja2 for its error lines)."""
    if "\n" in source or "\r" in source:
        return None
    parts = _OUTPUT.split(source)  # text, name, text, name, ..., text
    pieces: list[str | Lookup] = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            if any(mark in part for mark in ("{{", "{%", "{#", "}}")):
                return None  # another kind of tag, or text jinja2 would read differently
            if part:
                pieces.append(part)
            continue
        lookup = _lookup(env, part)
        if lookup is None:
            return None
        pieces.append(lookup)
    return Substitution(pieces)
