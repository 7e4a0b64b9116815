"""The Vagrantfile's triggers run scripts/vagrant-configure; the script saves `vagrant ssh-config`, joins it
into the file inventories/vagrant.yml includes and runs configure (stand-ins for vagrant and configure)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from configurator.model import inventory

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "vagrant-configure"
BLOCK = """Host {name}
  HostName 127.0.0.1
  User vagrant
  Port {port}
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no
  IdentityFile /home/me/project/.vagrant/machines/{name}/{provider}/private_key
  IdentitiesOnly yes
  LogLevel FATAL
"""


def test_every_vm_is_converged_after_up_and_provision_and_forgotten_before_destroy() -> None:
    text = (ROOT / "Vagrantfile").read_text()
    assert re.search(r'node\.trigger\.after \[:up, :provision\] do \|t\|\s+t\.name = "configure #\{name\}"\s+'
                     r't\.run = \{path: "scripts/vagrant-configure", args: \["up", name\]\}', text)
    assert re.search(r'node\.trigger\.before :destroy do \|t\|\s+t\.name = [^\n]+\s+'
                     r't\.run = \{path: "scripts/vagrant-configure", args: \["destroy", name\]\}', text)
    assert "VMS.each do |name, address|" in text
    assert os.access(SCRIPT, os.X_OK)


def stand_ins(tmp_path: Path, provider: str) -> dict[str, str]:
    """`vagrant ssh-config NAME` printing a block like Vagrant's, and a `configure` that logs its argv."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    ports = {"ns1": 2222, "app1": 2200, "app2": 2201}
    cases = "".join(f"{name}) cat <<'EOF'\n{BLOCK.format(name=name, port=port, provider=provider)}EOF\n;;\n"
                    for name, port in ports.items())
    (bin_dir / "vagrant").write_text(f'#!/bin/sh\n[ "$1" = ssh-config ] || exit 2\ncase $2 in\n{cases}'
                                     '*) echo "The machine with the name \'$2\' was not found" >&2; exit 1;;\nesac\n')
    (bin_dir / "configure").write_text(f'#!/bin/sh\necho "$*" >> {tmp_path}/configure.log\n')
    for tool in ("vagrant", "configure"):
        (bin_dir / tool).chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "VAGRANT_DOTFILE_PATH": str(tmp_path / "dot")}


def trigger(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=30, cwd="/")


def test_up_saves_ssh_config_and_converges_that_vm(tmp_path: Path) -> None:
    env = stand_ins(tmp_path, "libvirt")
    assert trigger(env, "up", "ns1").returncode == 0
    assert trigger(env, "up", "app1").returncode == 0
    joined = (tmp_path / "dot" / "configure" / "ssh_config").read_text()
    assert joined.count("Host ") == 2 and "Host ns1\n" in joined and "Host app1\n" in joined
    assert (tmp_path / "configure.log").read_text().splitlines() == [
        "apply inventories/vagrant.yml --limit ns1 --accept-new",
        "apply inventories/vagrant.yml --limit app1 --accept-new"]


def test_skip_saves_the_ssh_config_and_converges_nothing(tmp_path: Path) -> None:
    env = {**stand_ins(tmp_path, "virtualbox"), "CONFIGURE_VAGRANT_SKIP": "1"}
    done = trigger(env, "up", "ns1")
    assert done.returncode == 0 and "ns1 not converged" in done.stdout
    assert "Host ns1\n" in (tmp_path / "dot" / "configure" / "ssh_config").read_text()
    assert not (tmp_path / "configure.log").exists()


def test_destroy_forgets_the_key_and_drops_the_vm(tmp_path: Path) -> None:
    env = stand_ins(tmp_path, "virtualbox")
    trigger(env, "up", "ns1")
    assert trigger(env, "destroy", "ns1").returncode == 0
    assert (tmp_path / "dot" / "configure" / "ssh_config").read_text() == ""
    assert (tmp_path / "configure.log").read_text().splitlines()[-1] == "hostkeys forget inventories/vagrant.yml ns1"
    assert trigger(env, "destroy", "ns1").returncode == 0  # already gone: nothing to do


def test_a_failed_ssh_config_stops_before_configure(tmp_path: Path) -> None:
    env = stand_ins(tmp_path, "virtualbox")
    done = trigger(env, "up", "web9")
    assert done.returncode != 0 and "not found" in done.stderr
    assert not (tmp_path / "configure.log").exists()


def test_the_inventory_takes_user_and_key_from_ssh_config_and_the_private_address(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "inventories", tmp_path / "inventories")
    saved = tmp_path / ".vagrant" / "configure"
    saved.mkdir(parents=True)
    (saved / "ssh_config").write_text(BLOCK.format(name="ns1", port=2222, provider="libvirt"))
    inv = inventory.load(tmp_path / "inventories" / "vagrant.yml")
    ns1 = inv.hosts["ns1"]
    assert (ns1.address, ns1.ssh.port, ns1.ssh.user, ns1.ssh.become) == ("192.168.56.10", 22, "vagrant", True)
    assert ns1.ssh.identity == "/home/me/project/.vagrant/machines/ns1/libvirt/private_key"
    assert ns1.ssh.known_hosts == str(tmp_path / ".vagrant" / "known_hosts")
    assert set(inv.hosts) == {"ns1", "app1", "app2"}  # the groups hold while app1 and app2 are not up
