"""Templates that only name variables are evaluated without jinja2 compiling them, with jinja2's results."""

from __future__ import annotations

from typing import Any

import jinja2
import pytest

from configurator.errors import InputError, Location
from configurator.model import lookups, templates

ENV = templates.environment()


class Thing:
    path = "/srv/thing"
    _secret = "hidden"

    def __init__(self) -> None:
        self.mro_text = "plain"


CONTEXT: dict[str, Any] = {
    "item": {"path": "/etc/motd", "mode": "0644", "items": "a key named like a dict method", "n": 3,
             "nested": {"deep": ["x", 1]}},
    "base": "/srv/app", "count": 7, "flag": True, "nothing": None, "listed": [1, 2], "thing": Thing(),
    "text": "abc",
}

EXPRESSIONS = [
    "item", "item.path", "item.nested.deep", "item.items", "item.n", "base", "count", "flag", "nothing",
    "listed", "thing.path", "thing._secret", "thing.__class__", "text.upper", "range", "dict",
    "missing", "missing.attr", "item.missing", "item.path.missing", "nothing.attr", "item.nested.deep.x",
    "thing.mro_text", "text.format",
]
TEMPLATES = [
    "{{ base }}/{{ item.path }}.conf", "{{base}}-{{ count }}", "x{{ flag }}y{{ nothing }}z", "{{ listed }}",
    "{{ missing }}/x", "{{ item.missing }}.conf", "a } b { c {{ base }}", "{{ item.nested }}", "{{ thing.path }}",
    "{{ thing._secret }}", "{{ text.upper }}",
]
# left to jinja2: anything but plain names, and text it reads differently
COMPILED_BY_JINJA = [
    ("expression", "item | upper"), ("expression", "true"), ("expression", "None"), ("expression", "not"),
    ("expression", "item['path']"), ("expression", "item.path.0"), ("expression", "1"), ("expression", "a.in"),
    ("expression", " item"), ("expression", "item."), ("template", "{{ base }}\n{{ item }}"),
    ("template", "{{ base }}{% if flag %}x{% endif %}"), ("template", "{# note #}{{ base }}"),
    ("template", "{{- base }}"), ("template", "{{ base | upper }}"), ("template", "{{ base }}}}"),
    ("template", "{{\tbase }}"), ("template", "{{ true }}/x"), ("template", "a\r\n{{ base }}"),
]


def outcome(call: Any) -> tuple[str, Any]:
    """What an evaluation gives: its value (undefined made text, as the caller does), or its error."""
    try:
        value = call()
        if isinstance(value, jinja2.Undefined):
            str(value)
        return "value", value
    except Exception as exc:  # noqa: BLE001 - the error itself is what is compared
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("source", EXPRESSIONS)
def test_an_expression_naming_a_variable_evaluates_as_jinja2_does(source: str) -> None:
    lookup = lookups.compiled(ENV, "expression", source)
    assert isinstance(lookup, lookups.Lookup)
    by_jinja = ENV.compile_expression(source, undefined_to_none=False)
    ours, theirs = outcome(lambda: lookup(**CONTEXT)), outcome(lambda: by_jinja(**CONTEXT))
    if ours[0] == "value" and callable(ours[1]):  # a method or global: the same function, made anew
        assert theirs[0] == "value" and ours[1].__qualname__ == theirs[1].__qualname__
    else:
        assert ours == theirs


@pytest.mark.parametrize("source", TEMPLATES)
def test_a_template_of_plain_outputs_renders_as_jinja2_does(source: str) -> None:
    substitution = lookups.compiled(ENV, "template", source)
    assert isinstance(substitution, lookups.Substitution)
    assert outcome(lambda: substitution.render(**CONTEXT)) == outcome(
        lambda: ENV.from_string(source).render(**CONTEXT))


@pytest.mark.parametrize(("kind", "source"), COMPILED_BY_JINJA)
def test_anything_else_is_left_to_jinja2(kind: str, source: str) -> None:
    assert lookups.compiled(ENV, kind, source) is None


def test_the_sandbox_still_refuses_private_attributes_on_the_fast_path() -> None:
    with pytest.raises(InputError, match="unsafe|__class__"):
        templates.render_text(ENV, "{{ thing.__class__ }}", CONTEXT, Location("role.yml", 4))


@pytest.mark.parametrize("text", ["{{ missing }}", "{{ base }}/{{ missing }}.conf"])
def test_an_undefined_name_is_the_same_input_error_with_its_line(text: str) -> None:
    with pytest.raises(InputError) as caught:
        templates.render_text(ENV, text, CONTEXT, Location("role.yml", 12))
    assert "undefined variable in value: 'missing' is undefined" in str(caught.value)
    assert caught.value.where == Location("role.yml", 12)
