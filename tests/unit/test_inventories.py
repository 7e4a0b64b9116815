"""The shipped inventories load and compile every role for every host, with no connection."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from configurator.cli import commands as cli
from configurator.output import redaction

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["sandbox.yml", "vagrant.yml", "example.yml"])
def test_inventory_compiles(name, tmp_path):
    folder = ROOT / "inventories"
    if name == "vagrant.yml":  # it includes the `vagrant ssh-config` output its trigger saves: none yet
        folder = Path(shutil.copytree(folder, tmp_path / "inventories"))
        (tmp_path / ".vagrant" / "configure").mkdir(parents=True)
        (tmp_path / ".vagrant" / "configure" / "ssh_config").write_text("")
    args = argparse.Namespace(inventory=folder / name, limit=None, var=[],
                              vault_password_file=None, redactor=redaction.Redactor())
    inv, catalogs = cli.load_catalogs(args)
    assert len(catalogs) == len(inv.hosts) >= 3
    for catalog in catalogs:
        assert catalog.entries, catalog.host.name
        assert {r.name for r in catalog.roles} >= {"base"}
