"""Ansible inventories (INI, YAML, a dynamic script) and ssh_config files give the same model as configurator's YAML.

data/ansible_fleet holds one lab written five ways: hosts.ini (ranges, children, `:vars`), hosts.yml,
lab_inventory.py (a dynamic inventory), all three sharing group_vars/ and host_vars/ beside them and
given roles by site-*.yml (`include:`); and fleet.yml, the same in configurator's own format.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from configurator.cli import commands as cli
from configurator.model import inventory
from configurator.model.inventory_sources import kind_of
from configurator.model.variables import merge

DATA = Path(__file__).parent / "data" / "ansible_fleet"
SOURCES = ["site-ini.yml", "site-yaml.yml", "site-script.yml"]


def _hosts_output(capsys, *argv: str | Path) -> str:
    assert cli.main(["hosts", *map(str, argv)]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("source", SOURCES)
def test_configure_hosts_prints_the_same_as_configurators_yaml(source, capsys):
    expected = _hosts_output(capsys, DATA / "fleet.yml")
    assert _hosts_output(capsys, DATA / source) == expected
    assert "web-b.lab.example  web-b.lab.example  groups=app,web  roles=base,app_runtime" in expected


def _model(path: Path) -> dict[str, tuple]:
    """Per host: address, ssh settings, groups, roles, and the variables (not Ansible's own) with their levels."""
    inv = inventory.load(path)
    return {name: (h.address, h.ssh.user, h.ssh.port, h.ssh.become, h.groups, h.roles,
                   {k: (v.value, v.level) for k, v in merge(h.var_layers).items() if not k.startswith("ansible_")})
            for name, h in inv.hosts.items()}


@pytest.mark.parametrize("source", SOURCES)
def test_the_same_hosts_settings_and_variables(source):
    assert _model(DATA / source) == _model(DATA / "fleet.yml")


@pytest.mark.parametrize("source", SOURCES)
def test_rolling_settings_of_the_including_file_apply(source):
    assert inventory.load(DATA / source).groups["web"].serial == 2


def test_ansible_precedence_deeper_groups_and_group_vars_files_win():
    merged = merge(inventory.load(DATA / "hosts.ini").hosts["web03.lab.example"].var_layers)
    assert merged["tier"].value == "frontend"  # group_vars/web.yml (depth 2) over [app:vars] (depth 1)
    assert str(merged["tier"].where) == f"{DATA}/group_vars/web.yml:2"
    assert str(merged["ntp_server"].where) == f"{DATA}/group_vars/all.yml:1"
    assert merged["ntp_server"].level == "inventory vars"


def test_an_inventory_folder_file_that_ansible_skips_is_skipped():
    merged = merge(inventory.load(DATA / "hosts.ini").hosts["db1.lab.example"].var_layers)
    assert "ignored" not in merged and merged["shared_buffers"].value == "256MB"


def test_sources_show_where_hosts_and_variables_came_from(capsys):
    out = _hosts_output(capsys, DATA / "site-ini.yml", "--sources", "--limit", "web-a.lab.example")
    assert f"roles=base,app_runtime    # {DATA}/hosts.ini:6" in out
    assert f"ansible_user = 'deploy'    # host vars ({DATA}/hosts.ini:6)" in out
    assert f"http_port = 8080    # group vars (web) ({DATA}/group_vars/web.yml:3)" in out


@pytest.mark.parametrize("name, kind", [
    ("hosts.ini", "ini"), ("hosts.yml", "yaml"), ("lab_inventory.py", "script"), ("fleet.yml", "yaml"),
])
def test_kind_of(name, kind):
    assert kind_of(DATA / name) == kind


def test_a_script_without_the_execute_bit_is_not_run(tmp_path):
    copy = tmp_path / "lab_inventory"
    shutil.copy(DATA / "lab_inventory.py", copy)
    copy.chmod(0o644)
    assert kind_of(copy) != "script"  # read as a file (and refused), never run


VAGRANT = """\
Host web
  HostName 127.0.0.1
  User vagrant
  Port 2222
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  IdentityFile /home/me/lab/.vagrant/machines/web/libvirt/private_key
  IdentitiesOnly yes

Host db
  HostName 192.168.121.40
  User vagrant
  Port 22
  IdentityFile "/home/me/lab/.vagrant/machines/db/libvirt/private_key"

Host *
  User nobody
"""


def test_vagrant_ssh_config_output_is_a_host_list(tmp_path):
    (tmp_path / "vagrant.ssh_config").write_text(VAGRANT)
    (tmp_path / "site.yml").write_text("include: vagrant.ssh_config\nssh: {known_hosts: known}\n"
                                       "groups:\n  lab: {hosts: [web, db], roles: [base]}\n")
    inv = inventory.load(tmp_path / "site.yml")
    web, db = inv.hosts["web"], inv.hosts["db"]
    assert (web.address, web.ssh.port, web.ssh.user) == ("127.0.0.1", 2222, "vagrant")
    assert web.ssh.identity == "/home/me/lab/.vagrant/machines/web/libvirt/private_key"
    assert (db.address, db.ssh.port, db.roles) == ("192.168.121.40", 22, ("base",))
    assert web.ssh.known_hosts == str(tmp_path / "known")  # never /dev/null: host keys stay checked
    assert list(inv.hosts) == ["web", "db"]


def test_a_script_with_no_meta_is_asked_for_each_host(tmp_path):
    script = tmp_path / "old.sh"
    script.write_text('#!/bin/sh\nif [ "$1" = --list ]; then echo \'{"web": ["w1", "w2"]}\'\n'
                      'else echo "{\\"ansible_port\\": 2200, \\"asked\\": \\"$2\\"}"; fi\n')
    script.chmod(0o755)
    inv = inventory.load(script)
    assert inv.hosts["w2"].ssh.port == 2200
    assert merge(inv.hosts["w2"].var_layers)["asked"].value == "w2"


def test_an_including_file_adds_to_hosts_and_groups(tmp_path):
    (tmp_path / "hosts.ini").write_text("[web]\nw1 ansible_user=deploy colour=blue size=1\nw2\n[web:vars]\ntier=web\n")
    (tmp_path / "site.yml").write_text(
        "include: hosts.ini\n"
        "vars: {region: eu}\n"
        "hosts:\n  w1: {roles: [extra], vars: {size: 2}}\n  w3: {address: 192.0.2.3}\n"
        "groups:\n  web: {hosts: [w3], roles: [base], vars: {tier: front}}\n  canary: {hosts: [w2], roles: [smoke]}\n")
    inv = inventory.load(tmp_path / "site.yml")
    w1 = merge(inv.hosts["w1"].var_layers)
    assert (w1["size"].value, w1["colour"].value, w1["tier"].value, w1["region"].value) == (2, "blue", "front", "eu")
    assert str(w1["colour"].where) == f"{tmp_path}/hosts.ini:2" and str(w1["size"].where) == f"{tmp_path}/site.yml:4"
    assert inv.hosts["w1"].ssh.user == "deploy" and inv.hosts["w1"].roles == ("base", "extra")
    assert inv.groups["web"].hosts == ("w1", "w2", "w3")
    assert inv.hosts["w2"].roles == ("base", "smoke") and inv.hosts["w3"].address == "192.0.2.3"
    assert str(inv.hosts["w1"].where) == f"{tmp_path}/hosts.ini:2"  # where the host was first written


LISTED = json.loads((DATA / "ansible-inventory-list.json").read_text())  # ansible-core 2.19: -i hosts.ini --list


@pytest.mark.parametrize("host", sorted(LISTED["_meta"]["hostvars"]))
def test_variables_resolve_as_ansible_inventory_resolves_them(host):
    merged = merge(inventory.load(DATA / "hosts.ini").hosts[host].var_layers)
    assert {k: v.value for k, v in merged.items()} == LISTED["_meta"]["hostvars"][host]


def test_groups_are_those_ansible_inventory_lists():
    inv = inventory.load(DATA / "hosts.ini")
    for name, group in inv.groups.items():
        assert list(group.hosts) == LISTED[name].get("hosts", []), name
        assert list(group.children) == LISTED[name].get("children", []), name


def test_a_script_named_by_a_relative_path_replays_ansible_inventorys_output(capsys, monkeypatch):
    monkeypatch.chdir(DATA.parent)
    replayed = _hosts_output(capsys, Path("ansible_listed") / "replay.sh").split("\n\n")[0]
    direct = _hosts_output(capsys, DATA / "hosts.ini").split("\n\n")[0]
    assert sorted(replayed.splitlines()) == sorted(direct.splitlines())  # the hosts in Ansible's group order


def test_ini_values_are_read_as_ansible_inventory_reads_them(tmp_path):
    """What ansible-core 2.19's ansible-inventory --list printed for this file: literals on host lines and in
    `:vars` alike, quotes removed, no inline comment after a `:vars` value."""
    (tmp_path / "h.ini").write_text("[web]\nw1 a=1 b=\"two words\" c=[1,2] d=True e='q'\nw[8:10]\n"
                                    "[web:vars]\nx=1\ny=\"quoted\"\nz=a b # note\n")
    inv = inventory.load(tmp_path / "h.ini")
    assert {k: v.value for k, v in merge(inv.hosts["w1"].var_layers).items()} == {
        "a": 1, "b": "two words", "c": [1, 2], "d": True, "e": "q", "x": 1, "y": "quoted", "z": "a b # note"}
    assert list(inv.hosts) == ["w1", "w8", "w9", "w10"]
