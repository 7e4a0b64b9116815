"""The record of light hosts and the client lines for them (known_hosts, inventory), as data."""

from pathlib import Path

import paramiko
import pytest

from configurator.model.inventory import load as load_inventory
from configurator.sandbox import SandboxError
from configurator.sandbox.inventory import inventory_text
from configurator.sandbox.light_state import (
    LightHost,
    dumps,
    inventory_lines,
    known_hosts_lines,
    load,
    loads,
    save,
)

PUB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILqvoW4IRyKKNKB740p1kutFGc9JrqKVGXtVnTj/+6Ne root@light1"
HOSTS = (LightHost("light1", 1, "198.18.0.160", 22, 0, 100, 5), LightHost("light41", 41, "198.18.0.160", 2201, 0))


def test_record_round_trips(tmp_path):
    save(tmp_path, HOSTS)
    assert load(tmp_path) == HOSTS and loads(dumps(HOSTS)) == HOSTS


def test_no_record_is_no_hosts_and_saving_none_removes_it(tmp_path):
    assert load(tmp_path) == ()
    save(tmp_path, HOSTS)
    save(tmp_path, ())
    assert not (tmp_path / "light.json").exists()


def test_unknown_format_is_refused():
    with pytest.raises(SandboxError):
        loads('{"format": 9, "hosts": []}')


def test_known_hosts_names_the_port_off_22_so_hosts_sharing_an_address_keep_their_keys(tmp_path):
    path = tmp_path / "known_hosts"
    path.write_text(known_hosts_lines(HOSTS, [PUB, PUB.replace("ILqv", "ILqw")]))
    assert path.read_text().splitlines()[1].startswith("light41,[198.18.0.160]:2201 ssh-ed25519 ")
    known = paramiko.HostKeys(str(path))
    assert known.lookup("198.18.0.160") is not None and known.lookup("[198.18.0.160]:2201") is not None
    assert known.lookup("198.18.0.160")["ssh-ed25519"] != known.lookup("[198.18.0.160]:2201")["ssh-ed25519"]


def test_inventory_gives_each_light_host_its_address_and_port_in_group_light(tmp_path):
    path = tmp_path / "inventory.yml"
    text = inventory_text([("node1", "198.18.0.11")], Path("/k"), Path("/kh"), inventory_lines(HOSTS))
    path.write_text(text)
    inventory = load_inventory(path)
    light41 = inventory.hosts["light41"]
    assert (light41.address, light41.ssh.port) == ("198.18.0.160", 2201)
    assert inventory.hosts["node1"].ssh.port == 22
    assert "  light: {hosts: [light1, light41]}" in text.splitlines()
    assert "  sandbox: {hosts: [node1]}" in text.splitlines()


def test_no_light_hosts_leaves_the_inventory_as_before():
    assert inventory_lines(()) == ([], [])
