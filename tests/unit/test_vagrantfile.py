"""The Vagrantfile is valid (`vagrant validate`, its triggers included; no VM is started) and matches
inventories/vagrant.yml."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_vagrant_validate(tmp_path):
    if shutil.which("vagrant") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("vagrant is not installed (scripts/install-system-deps.sh installs it)")
        pytest.skip("vagrant is not installed")
    shutil.copy(ROOT / "Vagrantfile", tmp_path / "Vagrantfile")
    (tmp_path / "scripts").mkdir()  # the triggers' script: validate checks that it exists
    shutil.copy(ROOT / "scripts" / "vagrant-configure", tmp_path / "scripts" / "vagrant-configure")
    done = subprocess.run(["vagrant", "validate", "--ignore-provider"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "VAGRANT_HOME": str(tmp_path / ".vagrant.d")})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "validated successfully" in done.stdout


def test_inventory_matches_the_vms():
    vms = dict(re.findall(r'"(\w+)"\s*=>\s*"([\d.]+)"', (ROOT / "Vagrantfile").read_text()))
    hosts = yaml.safe_load((ROOT / "inventories" / "vagrant.yml").read_text())["hosts"]
    assert {name: spec["address"] for name, spec in hosts.items()} == vms
