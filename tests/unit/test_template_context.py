"""One template context: templates, `when:` before and after facts, and role tests see the same names."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from configurator.checks.verify import role_vars
from configurator.engine.plan import applies
from configurator.model import inventory
from configurator.model.catalog import Catalog, build_catalog
from configurator.model.variables import parse_cli_vars

ROLE = {
    "description": "conditions that mix facts and the names templates see",
    "resources": [
        {"file": {"path": "/srv/mine", "content": "{{ inventory_hostname }} {{ host.address }}\n"},
         "when": "facts.os_id == 'debian' and inventory_hostname == 'h1'"},
        {"file": {"path": "/srv/grouped", "content": "x\n"},
         "when": "facts.arch == 'x86_64' and 'h2' in inventory.groups.g and host.groups == ['g']"},
        {"file": {"path": "/srv/var", "content": "x\n"}, "when": "facts.os_id == flavour"},
    ],
}


@pytest.fixture
def catalogs(tmp_path: Path) -> dict[str, Catalog]:
    role = tmp_path / "roles" / "mixed"
    role.mkdir(parents=True)
    (role / "role.yml").write_text(yaml.safe_dump(ROLE))
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump({
        "roles_path": ["roles"], "vars": {"flavour": "debian"},
        "hosts": {"h1": {"address": "198.18.0.91"}, "h2": {"address": "198.18.0.92"}},
        "groups": {"g": {"hosts": ["h1", "h2"], "roles": ["mixed"]}}}))
    inv = inventory.load(tmp_path / "inventory.yml")
    return {name: build_catalog(host, inv, parse_cli_vars([])) for name, host in inv.hosts.items()}


@pytest.mark.parametrize(("name", "facts", "expected"), [
    ("h1", {"os_id": "debian", "arch": "x86_64"}, [True, True, True]),
    ("h2", {"os_id": "debian", "arch": "x86_64"}, [False, True, True]),
    ("h1", {"os_id": "ubuntu", "arch": "arm64"}, [False, False, False]),
])
def test_a_condition_on_facts_sees_every_name_a_template_sees(catalogs, name, facts, expected):
    catalog = catalogs[name]
    assert [applies(entry, facts, catalog.context) for entry in catalog.entries] == expected


def test_templates_and_role_tests_see_the_same_names(catalogs):
    catalog = catalogs["h1"]
    assert catalog.entries[0].resource.content == b"h1 198.18.0.91\n"
    seen = role_vars(catalog)
    assert seen["inventory_hostname"] == "h1" and seen["flavour"] == "debian"
    assert seen["host"] == {"name": "h1", "address": "198.18.0.91", "groups": ["g"]}
    assert seen["inventory"]["groups"]["g"] == ["h1", "h2"]
