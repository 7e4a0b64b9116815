"""Inventory loading, variable precedence with provenance, and --limit patterns."""

from __future__ import annotations

from pathlib import Path

import pytest

from configurator.errors import InputError
from configurator.model import inventory
from configurator.model.variables import merge, parse_cli_vars

TEXT = """\
ssh: {user: deploy, identity: keys/id, become: true}
vars: {port: 80, tier: base}
hosts:
  web1: {address: 10.0.0.1, vars: {port: 8080}}
  web2: {address: 10.0.0.2, port: 2222}
  db1: {address: 10.0.0.3}
groups:
  web: {hosts: [web1, web2], roles: [nginx], vars: {tier: web}}
  prod: {children: [web], hosts: [db1], roles: [base], vars: {tier: prod, env: prod}}
"""


@pytest.fixture
def inv(tmp_path: Path) -> inventory.Inventory:
    path = tmp_path / "inv.yml"
    path.write_text(TEXT)
    return inventory.load(path)


def test_hosts_groups_roles_and_ssh(inv, tmp_path):
    web1 = inv.hosts["web1"]
    assert web1.groups == ("web", "prod")
    assert web1.roles == ("nginx", "base")
    assert inv.hosts["db1"].roles == ("base",)
    assert web1.ssh.user == "deploy" and web1.ssh.become is True
    assert web1.ssh.identity == str(tmp_path / "keys" / "id")
    assert inv.hosts["web2"].ssh.port == 2222 and web1.ssh.port == 22


@pytest.mark.parametrize("host, name, value, line, level", [
    ("web1", "port", 8080, 4, "host vars"),
    ("web2", "port", 80, 2, "inventory vars"),
    ("web1", "tier", "prod", 9, "group vars (prod)"),  # groups merge in inventory order: prod after web
    ("db1", "env", "prod", 9, "group vars (prod)"),
])
def test_variable_precedence_and_provenance(inv, host, name, value, line, level):
    merged = merge(inv.hosts[host].var_layers)
    assert merged[name].value == value
    assert merged[name].where.line == line
    assert merged[name].level == level


def test_cli_var_wins_and_is_typed(inv):
    merged = merge([*inv.hosts["web1"].var_layers, parse_cli_vars(["port=9000", "name=x"])])
    assert merged["port"].value == 9000 and merged["port"].level == "--var"


@pytest.mark.parametrize("pattern, expected", [
    (None, ["web1", "web2", "db1"]),
    ("web", ["web1", "web2"]),
    ("web*", ["web1", "web2"]),
    ("prod,!web2", ["web1", "db1"]),
    ("!web", ["db1"]),
    ("db1:web2", ["web2", "db1"]),
])
def test_limit_patterns(inv, pattern, expected):
    assert [h.name for h in inv.select(pattern)] == expected


@pytest.mark.parametrize("pattern", ["nope", "web 1", "-x", "a;b"])
def test_bad_limit(inv, pattern):
    with pytest.raises(InputError):
        inv.select(pattern)


@pytest.mark.parametrize("text, message", [
    ("hosts: {}\n", "no hosts"),
    ("hosts:\n  a: {}\ngroups:\n  g: {hosts: [b]}\n", "unknown host 'b'"),
    ("hosts:\n  a: {}\ngroups:\n  g: {children: [h]}\n  h: {children: [g]}\n", "cycle"),
    ("hosts:\n  a: {address: '-oProxyCommand=x'}\n", "address"),
    ("hosts:\n  a: {become: 'yes'}\n", "become must be a bool"),
    ("hosts:\n  'a b': {}\n", "not valid"),
])
def test_inventory_errors(tmp_path, text, message):
    path = tmp_path / "inv.yml"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as err:
        inventory.load(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("text, context, expected", [
    ("{{ a }}", {"a": [1, 2]}, [1, 2]),          # a whole expression keeps its type
    ("{{ a }}\n", {"a": "v"}, "v\n"),            # ...but a trailing newline makes it text
    ("x{{ a }}", {"a": 1}, "x1"),
    ("{{ a }} {{ a }}", {"a": 1}, "1 1"),
    ("no template", {}, "no template"),
])
def test_render_text(text, context, expected):
    from configurator.errors import Location
    from configurator.model.templates import environment, render_text

    assert render_text(environment(), text, context, Location("t")) == expected
