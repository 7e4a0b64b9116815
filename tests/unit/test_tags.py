"""Tags: which resources a partial run keeps, from role.yml (the role's and each resource's tags)."""

from __future__ import annotations

from pathlib import Path

import pytest

from configurator.errors import InputError
from configurator.model.catalog import build_catalog
from configurator.model.inventory import load
from configurator.model.tags import Selection, from_option, select
from configurator.model.variables import parse_cli_vars


@pytest.mark.parametrize(("only", "skip", "tags", "wanted"), [
    ((), (), (), True),
    (("web",), (), ("web", "db"), True),
    (("web",), (), ("db",), False),
    (("web",), (), (), False),
    (("web",), (), ("always",), True),
    ((), ("slow",), ("slow", "web"), False),
    (("web",), ("web",), ("web",), False),  # skip wins
    (("web",), ("always",), ("always",), False),
])
def test_selection(only, skip, tags, wanted):
    assert Selection(frozenset(only), frozenset(skip)).wants(tags) is wanted


def test_options_are_repeated_or_comma_separated():
    assert from_option(["a,b", " c ", ""]) == {"a", "b", "c"}
    assert from_option(None) == frozenset()


ROLE = """\
tags: [demo]
resources:
  - file: {path: /tmp/a, content: a}
    tags: [motd]
    notify: reload
  - file: {path: /tmp/b, content: b}
    tags: config
  - command: {argv: [/bin/true]}
    checkable: false
handlers:
  reload: {command: {argv: [/bin/true]}}
"""


def catalog_of(tmp_path: Path, role: str = ROLE):
    (tmp_path / "roles" / "demo").mkdir(parents=True)
    (tmp_path / "roles" / "demo" / "role.yml").write_text(role)
    inv = tmp_path / "inventory.yml"
    inv.write_text("roles_path: [roles]\nhosts: {h1: {address: 198.18.0.99}}\n"
                   "groups: {g: {hosts: [h1], roles: [demo]}}\n")
    inventory = load(inv)
    return build_catalog(inventory.hosts["h1"], inventory, parse_cli_vars([]))


def test_each_resource_carries_its_role_s_and_its_own_tags(tmp_path):
    cat = catalog_of(tmp_path)
    assert [e.tags for e in cat.entries] == [("demo", "motd"), ("demo", "config"), ("demo",)]
    assert [e.checkable for e in cat.entries] == [True, True, False]


def test_select_keeps_only_the_tagged_resources(tmp_path):
    cat = catalog_of(tmp_path)
    picked = select(cat, Selection(frozenset({"config"})))
    assert [e.resource.id for e in picked.entries] == ["file[/tmp/b]"]
    assert [e.resource.id for e in select(cat, Selection(skip=frozenset({"motd"}))).entries] == \
        ["file[/tmp/b]", "command[/bin/true]"]
    assert select(cat, Selection()) is cat


@pytest.mark.parametrize(("role", "line", "message"), [
    ("tags: {a: 1}\nresources: []\n", 1, "tags must be a name or a list"),
    ("resources:\n  - file: {path: /tmp/a, content: a}\n    tags: [1]\n", 2, "tags must be a name or a list"),
    ("resources:\n  - file: {path: /tmp/a, content: a}\n    checkable: no-way\n", 2, "checkable must be"),
])
def test_bad_tags_name_their_line(tmp_path, role, line, message):
    with pytest.raises(InputError) as caught:
        catalog_of(tmp_path, role)
    assert message in str(caught.value) and f"role.yml:{line}" in str(caught.value)
