"""The Vagrant loop on sandbox hosts (node51, node52): the Vagrantfile's trigger script, given
`vagrant ssh-config` output that describes sandbox hosts, records their keys on first contact and
converges each host with an inventory that includes that output; a second trigger changes nothing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.integration.engine_helpers import configure, sh

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
HOSTS = ["node51", "node52"]
BLOCK = """Host {name}
  HostName {address}
  User root
  Port 22
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no
  IdentityFile {key}
  IdentitiesOnly yes
  LogLevel FATAL
"""


@pytest.fixture
def lab(sandbox, tmp_path: Path) -> dict[str, str]:
    """A stand-in `vagrant` printing the hosts' blocks, a small role, and the inventory that includes the output."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    cases = "".join(f"{n}) cat <<'EOF'\n{BLOCK.format(name=n, address=sandbox.host(n).address, key=sandbox.key_path)}"
                    "EOF\n;;\n" for n in HOSTS)
    (bin_dir / "vagrant").write_text(f'#!/bin/sh\n[ "$1" = ssh-config ] || exit 2\n'
                                     f'case $2 in\n{cases}*) exit 1;;\nesac\n')
    (bin_dir / "vagrant").chmod(0o755)
    role = tmp_path / "roles" / "vagrant_demo"
    role.mkdir(parents=True)
    (role / "role.yml").write_text(yaml.safe_dump({"description": "a file naming the host", "resources": [
        {"file": {"path": "/srv/vagrant-demo", "content": "{{ inventory_hostname }} by vagrant up\n"}}]}))
    site = {"include": str(tmp_path / "dot" / "configure" / "ssh_config"),
            "ssh": {"known_hosts": str(tmp_path / "known_hosts"), "become": True, "connect_timeout": 5},
            "roles_path": [str(tmp_path / "roles")],
            "hosts": {n: {} for n in HOSTS},
            "groups": {"vms": {"hosts": HOSTS, "roles": ["vagrant_demo"]}}}
    (tmp_path / "site.yml").write_text(yaml.safe_dump(site, sort_keys=False))
    for name in HOSTS:
        sh(sandbox.host(name), "rm -f /srv/vagrant-demo")
    venv_bin = str(Path("/opt/configurator/venv/bin"))
    return {**os.environ, "PATH": f"{bin_dir}:{venv_bin}:{os.environ['PATH']}",
            "VAGRANT_DOTFILE_PATH": str(tmp_path / "dot"), "CONFIGURE_VAGRANT_INVENTORY": str(tmp_path / "site.yml")}


def trigger(env: dict[str, str], name: str) -> subprocess.CompletedProcess[str]:
    """What the Vagrantfile's `after [:up, :provision]` trigger runs for VM `name`."""
    return subprocess.run([str(ROOT / "scripts" / "vagrant-configure"), "up", name], env=env, capture_output=True,
                          text=True, timeout=300, cwd="/")


def test_up_converges_each_vm_from_its_ssh_config(sandbox, lab, tmp_path):
    for name in HOSTS:
        done = trigger(lab, name)
        assert done.returncode == 0, done.stdout + done.stderr
        assert sh(sandbox.host(name), "cat /srv/vagrant-demo") == f"{name} by vagrant up\n"
    known = (tmp_path / "known_hosts").read_text()
    assert all(sandbox.host(n).address in known for n in HOSTS)  # recorded on first contact
    code, report = configure("check", tmp_path / "site.yml", report=tmp_path / "check.json")
    assert code == 0, report  # converged, and the recorded keys are checked strictly from now on
    again = trigger(lab, "node51")  # `vagrant provision node51`
    assert again.returncode == 0, again.stdout + again.stderr
    assert "changed=0" in again.stdout
