"""The dhcp role rendered for an inventory (no host): the Kea configuration as data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from configurator.model import inventory
from configurator.model.catalog import build_catalog
from configurator.model.variables import parse_cli_vars
from configurator.resources.file import File

INVENTORY = """\
hosts:
  dhcp1: {address: 198.18.0.14}
  node1: {address: 198.18.0.11, vars: {mac: 52:54:00:12:34:56}}
  printer: {address: 198.18.0.155, vars: {mac: "02:CF:00:00:00:02"}}
  outside: {address: 10.0.0.5, vars: {mac: "02:cf:00:00:00:03"}}
  broadcast: {address: 198.18.0.255, vars: {mac: "02:cf:00:00:00:05"}}
  byname: {vars: {mac: "02:cf:00:00:00:04"}}
  nomac: {address: 198.18.0.12}
groups:
  dhcp:
    hosts: [dhcp1]
    roles: [dhcp]
    vars: {dhcp_routers: [198.18.0.1], dhcp_dns_servers: [198.18.0.14, 198.18.0.15], dhcp_domain_name: lab.example}
"""


def kea(tmp_path: Path, *cli: str, text: str = INVENTORY) -> tuple[File, dict[str, Any]]:
    """The config file resource and its content parsed (Kea's // comments removed)."""
    path = tmp_path / "inventory.yml"
    path.write_text(text)
    inv = inventory.load(path)
    cat = build_catalog(inv.hosts["dhcp1"], inv, parse_cli_vars(cli))
    (config,) = [e.resource for e in cat.entries if e.resource.id == "file[/etc/kea/kea-dhcp4.conf]"]
    assert isinstance(config, File)
    lines = config.content.decode().splitlines()
    return config, json.loads("\n".join(x for x in lines if not x.lstrip().startswith("//")))["Dhcp4"]


def test_config_is_checked_with_kea_before_install_and_restarts_kea(tmp_path):
    path = tmp_path / "inventory.yml"
    path.write_text(INVENTORY)
    inv = inventory.load(path)
    cat = build_catalog(inv.hosts["dhcp1"], inv, parse_cli_vars([]))
    ids = [e.resource.id for e in cat.entries]
    assert ids[0].startswith("command[sh -c ") and ids[1:] == [
        "package[kea-dhcp4-server]", "directory[/etc/kea]", "file[/etc/kea/kea-dhcp4.conf]",
        "service[kea-dhcp4-server]"]
    assert [e.when for e in cat.entries[:3]] == [
        "facts.os_codename not in ['bookworm', 'trixie']", None, "facts.os_codename == 'trixie'"]
    assert cat.entries[3].resource.validator == ("kea-dhcp4", "-t", "%s")  # type: ignore[attr-defined]
    assert cat.entries[3].notify == ("restart kea-dhcp4",)
    handler = cat.handlers["restart kea-dhcp4"].resource
    assert (handler.name, handler.state) == ("kea-dhcp4-server", "restarted")  # type: ignore[attr-defined]


def test_subnet_pool_and_options(tmp_path):
    _, dhcp4 = kea(tmp_path)
    assert dhcp4["interfaces-config"] == {"interfaces": ["eth0"]}
    (subnet,) = dhcp4["subnet4"]
    assert subnet["id"] == 1 and subnet["subnet"] == "198.18.0.0/24"
    assert subnet["pools"] == [{"pool": "198.18.0.100 - 198.18.0.150"}]
    assert subnet["option-data"] == [
        {"name": "routers", "data": "198.18.0.1"},
        {"name": "domain-name-servers", "data": "198.18.0.14, 198.18.0.15"},
        {"name": "domain-name", "data": "lab.example"}]
    assert dhcp4["lease-database"]["name"] == "/var/lib/kea/kea-leases4.csv"


def test_reservations_for_inventory_hosts_with_a_mac_inside_the_subnet(tmp_path):
    _, dhcp4 = kea(tmp_path)
    assert dhcp4["subnet4"][0]["reservations"] == [
        # an unquoted all-digit MAC is a base-60 number to YAML 1.1: the template turns it back
        {"hw-address": "52:54:00:12:34:56", "ip-address": "198.18.0.11", "hostname": "node1"},
        {"hw-address": "02:cf:00:00:00:02", "ip-address": "198.18.0.155", "hostname": "printer"},
    ]


def test_no_options_no_reservations_and_several_pools(tmp_path):
    text = "hosts:\n  dhcp1: {address: 198.18.0.14}\ngroups:\n  d: {hosts: [dhcp1], roles: [dhcp]}\n"
    _, dhcp4 = kea(tmp_path, 'dhcp_pools=["198.18.0.100 - 198.18.0.109", "198.18.0.120 - 198.18.0.129"]',
                   'dhcp_options=[{name: ntp-servers, data: 198.18.0.14}]', "dhcp_interfaces=[eth0, eth1]",
                   text=text)
    (subnet,) = dhcp4["subnet4"]
    assert subnet["reservations"] == []
    assert subnet["option-data"] == [{"name": "ntp-servers", "data": "198.18.0.14"}]
    assert [p["pool"] for p in subnet["pools"]] == ["198.18.0.100 - 198.18.0.109", "198.18.0.120 - 198.18.0.129"]
    assert dhcp4["interfaces-config"]["interfaces"] == ["eth0", "eth1"]


def test_a_wider_subnet_takes_reservations_from_all_of_it(tmp_path):
    _, dhcp4 = kea(tmp_path, "dhcp_subnet=198.18.0.0/16", "dhcp_pools=[198.18.5.0/24]")
    hosts = [r["hostname"] for r in dhcp4["subnet4"][0]["reservations"]]
    assert hosts == ["broadcast", "node1", "printer"]  # .255 is a host address in a /16
