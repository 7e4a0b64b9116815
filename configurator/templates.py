"""Jinja2 rendering on the control machine: StrictUndefined, errors with template:line."""

from __future__ import annotations

import functools
import re
import weakref
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import jinja2.sandbox

from configurator.errors import InputError, Location

_WHOLE = re.compile(r"\A\{\{\s*(.+?)\s*\}\}\Z", re.S)


@functools.cache
def environment() -> jinja2.Environment:
    """The one template environment (shared: it holds no per-run state, only compiled templates)."""
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    env.filters["to_yaml"] = _to_yaml
    return env


def _to_yaml(value: Any) -> str:
    import yaml  # only for this filter

    return str(yaml.safe_dump(value, default_flow_style=False, sort_keys=False))


def _error(exc: Exception, where: Location, what: str) -> InputError:
    line = getattr(exc, "lineno", None) or 0
    at = Location(where.path, (where.line + line - 1) if where.line and line else (line or where.line))
    message = str(exc)
    if isinstance(exc, jinja2.UndefinedError):
        return InputError(f"undefined variable in {what}: {message}", at,
                          "define it in role defaults, the inventory, or with --var")
    return InputError(f"template error in {what}: {message}", at)


def render_text(env: jinja2.Environment, text: str, context: dict[str, Any], where: Location,
                what: str = "value") -> Any:
    """Render a string; a string that is exactly `{{ expr }}` keeps the expression's type."""
    if "{{" not in text and "{%" not in text:
        return text
    try:
        whole = _WHOLE.match(text)
        if whole and "}}" not in whole.group(1):
            return _defined(_expression(env, whole.group(1))(**context))
        return _template(env, text).render(**context)
    except jinja2.TemplateError as exc:
        raise _error(exc, where, what) from None


def _template(env: jinja2.Environment, source: str) -> jinja2.Template:
    """A compiled template, compiled once per source text (hosts share role templates)."""
    return _compiled(env, "template", source)  # type: ignore[no-any-return]


def _expression(env: jinja2.Environment, source: str) -> Any:
    """A compiled expression, compiled once per source text."""
    return _compiled(env, "expression", source)


_COMPILED: weakref.WeakKeyDictionary[jinja2.Environment, dict[tuple[str, str], Any]] = weakref.WeakKeyDictionary()


def _compiled(env: jinja2.Environment, kind: str, source: str) -> Any:
    cache = _COMPILED.setdefault(env, {})
    key = (kind, source)
    if key not in cache:
        cache[key] = env.from_string(source) if kind == "template" else \
            env.compile_expression(source, undefined_to_none=False)
    return cache[key]


def _defined(value: Any) -> Any:
    """Raise for an undefined result (StrictUndefined fails when turned into text)."""
    if isinstance(value, jinja2.Undefined):
        str(value)
    return value


def render_file(env: jinja2.Environment, path: Path, context: dict[str, Any],
                texts: dict[Path, str] | None = None) -> bytes:
    """Render a template file to bytes (UTF-8); errors name the file and line; `texts` remembers files read."""
    texts = {} if texts is None else texts
    try:
        source = texts[path] if path in texts else texts.setdefault(path, path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("template not found", Location(str(path))) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"template is not UTF-8 text (byte {exc.start}); ship binary files as `file: src`",
                         Location(str(path))) from None
    try:
        return _template(env, source).render(**context).encode("utf-8")
    except jinja2.TemplateError as exc:
        raise _error(exc, Location(str(path), 1), f"template {path.name}") from None


def expression(env: jinja2.Environment, text: str, context: dict[str, Any], where: Location) -> Any:
    """Evaluate a `when` expression."""
    try:
        return _defined(_expression(env, text)(**context))
    except jinja2.TemplateError as exc:
        raise _error(exc, where, f"condition {text!r}") from None


def names_used(env: jinja2.Environment, text: str) -> set[str]:
    """Top-level variable names an expression refers to."""
    return set(jinja2.meta.find_undeclared_variables(env.parse("{{ " + text + " }}")))
