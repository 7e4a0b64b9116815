"""Hosts that render a resource alike share it: the same catalogs as building each alone, checked once."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from configurator.errors import InputError
from configurator.model import inventory
from configurator.model.catalog import Built, _memo_key, build_catalog
from configurator.model.variables import parse_cli_vars
from configurator.resources.package import Package

ROLE = {
    "description": "resources shared by every host, and one each host renders its own way",
    "resources": [
        {"package": {"name": "{{ pkg }}"}},
        {"file": {"path": "/srv/who", "content": "{{ inventory_hostname }}\n"}},
        {"directory": {"path": "/srv/{{ item }}"}, "for_each": ["a", "b"]},
    ],
}


def load(tmp_path: Path, hosts: dict[str, dict[str, str]]) -> inventory.Inventory:
    role = tmp_path / "roles" / "shared"
    role.mkdir(parents=True, exist_ok=True)
    (role / "role.yml").write_text(yaml.safe_dump(ROLE))
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump({
        "roles_path": ["roles"], "vars": {"pkg": "tree"},
        "hosts": {name: {"address": f"198.18.0.{90 + i}", "vars": v} for i, (name, v) in enumerate(hosts.items())},
        "groups": {"g": {"hosts": list(hosts), "roles": ["shared"]}}}))
    return inventory.load(tmp_path / "inventory.yml")


def test_shared_catalogs_equal_catalogs_built_alone(tmp_path: Path) -> None:
    inv = load(tmp_path, {"h1": {}, "h2": {}, "h3": {"pkg": "nano"}})
    built: Built = {}
    shared = [build_catalog(h, inv, parse_cli_vars([]), built=built) for h in inv.hosts.values()]
    alone = [build_catalog(h, inv, parse_cli_vars([])) for h in inv.hosts.values()]
    assert [c.entries for c in shared] == [c.entries for c in alone]
    h1, h2, h3 = ([e.resource for e in c.entries] for c in shared)
    assert h1[0] is h2[0] and h1[0] == Package("tree") and h3[0] == Package("nano")  # one object, checked once
    assert h1[1] is not h2[1] and h2[1].content == b"h2\n"  # each host's own rendering
    assert h1[2] is h3[2] and h1[3] is h2[3]  # each item of for_each shared
    assert len(built) == 2 + 3 + 2  # packages tree and nano, /srv/who of each host, directories a and b


def test_bad_arguments_fail_on_every_host_that_has_them(tmp_path: Path) -> None:
    inv = load(tmp_path, {"h1": {"pkg": "Not A Package"}, "h2": {"pkg": "Not A Package"}})
    built: Built = {}
    for host in inv.hosts.values():
        with pytest.raises(InputError, match="contain spaces"):
            build_catalog(host, inv, parse_cli_vars([]), built=built)
    assert not any(isinstance(r, Package) for r in built.values())


@pytest.mark.parametrize(("one", "other"), [
    ({"x": 1}, {"x": "1"}), ({"x": 1}, {"x": True}), ({"x": 1}, {"x": 1.0}), ({"x": [1]}, {"x": (1,)}),
    ({"x": None}, {"x": "None"})])
def test_values_that_print_alike_are_different_keys(one: dict[str, object], other: dict[str, object]) -> None:
    assert _memo_key(Package, one, frozenset()) != _memo_key(Package, other, frozenset())


def test_content_and_long_texts_are_not_keys() -> None:
    assert _memo_key(Package, {"content": b"x"}, frozenset()) is None
    assert _memo_key(Package, {"content": "x" * 5000}, frozenset()) is None
    assert _memo_key(Package, {"content": "x"}, frozenset()) is not None
