"""The shipped inventories load and compile every role for every host, with no connection."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from configurator.cli import commands as cli
from configurator.output import redaction

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["sandbox.yml", "vagrant.yml", "example.yml"])
def test_inventory_compiles(name):
    args = argparse.Namespace(inventory=ROOT / "inventories" / name, limit=None, var=[],
                              vault_password_file=None, redactor=redaction.Redactor())
    inv, catalogs = cli.load_catalogs(args)
    assert len(catalogs) == len(inv.hosts) >= 3
    for catalog in catalogs:
        assert catalog.entries, catalog.host.name
        assert {r.name for r in catalog.roles} >= {"base"}
