"""Jinja2 rendering on the control machine: StrictUndefined, errors with template:line."""

from __future__ import annotations

import functools
import re
import weakref
from pathlib import Path
from typing import Any, Protocol

import jinja2
import jinja2.meta
import jinja2.sandbox

from configurator.errors import InputError, Location
from configurator.model import lookups
from configurator.model.loader import dump

_WHOLE = re.compile(r"\A\{\{\s*(.+?)\s*\}\}\Z", re.S)
# jinja2's sandbox bounds range() (MAX_RANGE); these bound what `*` and `**` may build, which it does not
MAX_REPEAT = 10 * 2**20  # characters or items made by `text * n` / `list * n`
MAX_POWER_BITS = 2**16  # an integer power larger than this could not even be written out as text


class _Sandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """The sandbox, with `*` and `**` refusing results too large to build."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _bounded(operator, left, right)
        return super().call_binop(context, operator, left, right)


def _bounded(operator: str, left: Any, right: Any) -> None:
    """Raise before `left operator right` builds a huge value (a string of gigabytes, a power of billions of bits)."""
    if operator == "*":
        for items, count in ((left, right), (right, left)):
            if isinstance(items, str | bytes | list | tuple) and isinstance(count, int) \
                    and len(items) * count > MAX_REPEAT:
                raise OverflowError(f"result of '*' too large: {len(items) * count} items, at most {MAX_REPEAT}")
    elif isinstance(left, int) and isinstance(right, int) and abs(left) > 1 \
            and right * abs(left).bit_length() > MAX_POWER_BITS:
        raise OverflowError(f"result of '**' too large: over {MAX_POWER_BITS} bits")


@functools.cache
def environment() -> jinja2.Environment:
    """The one template environment (shared: it holds no per-run state, only compiled templates)."""
    env = _Sandbox(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    env.filters["to_yaml"] = dump
    return env


def _error(exc: Exception, where: Location, what: str, rendered: bool = True) -> InputError:
    """One line naming the template line; a runtime error's line is read from the traceback jinja2 rewrote."""
    line = getattr(exc, "lineno", None) or (_template_line(exc) if rendered else 0)
    at = Location(where.path, (where.line + line - 1) if where.line and line else (line or where.line))
    message = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, jinja2.UndefinedError):
        return InputError(f"undefined variable in {what}: {message}", at,
                          "define it in role defaults, the inventory, or with --var")
    if not isinstance(exc, jinja2.TemplateError):
        message = f"{message} ({type(exc).__name__})"
    return InputError(f"template error in {what}: {message}", at)


def _template_line(exc: BaseException) -> int:
    """The template line of the innermost template frame (0 when there is none)."""
    line, frame = 0, exc.__traceback__
    while frame is not None:
        if frame.tb_frame.f_code.co_filename == "<template>":
            line = frame.tb_lineno
        frame = frame.tb_next
    return line


def render_text(env: jinja2.Environment, text: str, context: dict[str, Any], where: Location,
                what: str = "value") -> Any:
    """Render a string; a string that is exactly `{{ expr }}` keeps the expression's type."""
    if "{{" not in text and "{%" not in text:
        return text
    whole = _WHOLE.match(text)
    single = whole is not None and "}}" not in whole.group(1)
    try:
        if whole and single:
            return _defined(_expression(env, whole.group(1))(**context))
        return _template(env, text).render(**context)
    except Exception as exc:  # any runtime error of a template (1/0, 1 + 'a', ...) is bad input
        raise _error(exc, where, what, rendered=not single) from None


class _Renders(Protocol):
    """A compiled template: jinja2's, or a lookups.Substitution."""

    def render(self, **context: Any) -> str: ...


def _template(env: jinja2.Environment, source: str) -> _Renders:
    """A compiled template, compiled once per source text (hosts share role templates)."""
    renders: _Renders = _compiled(env, "template", source)
    return renders


def _expression(env: jinja2.Environment, source: str) -> Any:
    """A compiled expression, compiled once per source text."""
    return _compiled(env, "expression", source)


_COMPILED: weakref.WeakKeyDictionary[jinja2.Environment, dict[tuple[str, str], Any]] = weakref.WeakKeyDictionary()


def _compiled(env: jinja2.Environment, kind: str, source: str) -> Any:
    cache = _COMPILED.setdefault(env, {})
    key = (kind, source)
    if key not in cache:
        cache[key] = lookups.compiled(env, kind, source) or (
            env.from_string(source) if kind == "template" else env.compile_expression(source, undefined_to_none=False))
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
    except Exception as exc:  # any runtime error of a template (1/0, 1 + 'a', ...) is bad input
        raise _error(exc, Location(str(path), 1), f"template {path.name}") from None


def expression(env: jinja2.Environment, text: str, context: dict[str, Any], where: Location) -> Any:
    """Evaluate a `when` expression."""
    try:
        return _defined(_expression(env, text)(**context))
    except Exception as exc:  # any runtime error of an expression is bad input
        raise _error(exc, where, f"condition {text!r}", rendered=False) from None


def names_used(env: jinja2.Environment, text: str) -> set[str]:
    """Top-level variable names an expression refers to."""
    return set(jinja2.meta.find_undeclared_variables(env.parse("{{ " + text + " }}")))
