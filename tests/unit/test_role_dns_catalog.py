"""The dns role rendered for an inventory (no host): zones from the inventory, named.conf from templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from configurator.errors import InputError
from configurator.model import inventory
from configurator.model.catalog import Catalog, build_catalog
from configurator.model.variables import parse_cli_vars
from configurator.resources.file import File
from configurator.resources.zone import Zone

INVENTORY = """\
hosts:
  ns: {address: 198.18.0.14}
  node1: {address: 198.18.0.11}
  laptop: {address: 198.18.0.99, vars: {dns: false}}
  printer: {address: 198.18.0.155, vars: {mac: "02:cf:00:00:00:02"}}
groups:
  dns: {hosts: [ns], roles: [dns], vars: {dns_records: [{name: www, type: CNAME, value: node1}]}}
"""


def catalog(tmp_path: Path, *cli: str, text: str = INVENTORY) -> Catalog:
    path = tmp_path / "inventory.yml"
    path.write_text(text)
    inv = inventory.load(path)
    return build_catalog(inv.hosts["ns"], inv, parse_cli_vars(cli))


def resources(cat: Catalog) -> dict[str, object]:
    return {e.resource.id: e.resource for e in cat.entries}


def test_resources_in_order_and_every_change_reloads_named(tmp_path):
    cat = catalog(tmp_path)
    guard, *entries = cat.entries  # the first step refuses a release the role does not support
    assert guard.resource.id.startswith("command[sh -c ")
    assert guard.when == "facts.os_codename not in ['bookworm', 'trixie']"
    assert [e.resource.id for e in entries] == [
        "package[bind9]", "package[bind9-utils]", "package[bind9-dnsutils]", "directory[/etc/bind/zones]",
        "zone[/etc/bind/zones/db.lab.example]", "zone[/etc/bind/zones/db.0.18.198.in-addr.arpa]",
        "file[/etc/bind/named.conf.options]", "file[/etc/bind/named.conf.local]", "service[named]"]
    for entry in cat.entries:
        if entry.resource.type in ("zone", "file"):
            assert entry.notify == ("reload named",)
    handler = cat.handlers["reload named"].resource
    assert (handler.name, handler.state) == ("named", "reloaded")  # type: ignore[attr-defined]


def test_zones_hold_every_inventory_host_that_did_not_opt_out(tmp_path):
    found = resources(catalog(tmp_path))
    forward = found["zone[/etc/bind/zones/db.lab.example]"]
    reverse = found["zone[/etc/bind/zones/db.0.18.198.in-addr.arpa]"]
    assert isinstance(forward, Zone) and isinstance(reverse, Zone)
    text = forward.render(1).decode()
    for line in ("ns1\tIN\tA\t198.18.0.14", "node1\tIN\tA\t198.18.0.11", "ns\tIN\tA\t198.18.0.14",
                 "printer\tIN\tA\t198.18.0.155", "www\tIN\tCNAME\tnode1"):
        assert line + "\n" in text
    assert "laptop" not in text and "198.18.0.99" not in text
    text = reverse.render(1).decode()
    assert "11\tIN\tPTR\tnode1.lab.example.\n" in text and "155\tIN\tPTR\tprinter.lab.example.\n" in text
    assert "99\tIN" not in text


def test_named_conf_files_are_checked_with_named_checkconf(tmp_path):
    found = resources(catalog(tmp_path))
    local = found["file[/etc/bind/named.conf.local]"]
    options = found["file[/etc/bind/named.conf.options]"]
    assert isinstance(local, File) and isinstance(options, File)
    assert local.validator == options.validator == ("named-checkconf", "%s")
    text = local.content.decode()
    assert 'zone "lab.example" {\n\ttype primary;\n\tfile "/etc/bind/zones/db.lab.example";\n};' in text
    assert 'zone "0.18.198.in-addr.arpa" {' in text


def test_recursion_is_off_by_default(tmp_path):
    options = resources(catalog(tmp_path))["file[/etc/bind/named.conf.options]"]
    text = options.content.decode()  # type: ignore[attr-defined]
    assert "\trecursion no;\n\tallow-recursion { none; };\n" in text
    assert "forwarders" not in text
    assert "\tallow-transfer { none; };\n" in text


def test_recursion_when_on_is_limited_to_the_lab_subnet(tmp_path):
    cat = catalog(tmp_path, "dns_recursion=true", "dns_forwarders=[192.0.2.53]", "dns_forward=only")
    text = resources(cat)["file[/etc/bind/named.conf.options]"].content.decode()  # type: ignore[attr-defined]
    assert "\trecursion yes;\n\tallow-recursion { localhost; 198.18.0.0/24; };\n" in text
    assert "\tallow-query-cache { localhost; 198.18.0.0/24; };\n" in text
    assert "\tforwarders { 192.0.2.53; };\n\tforward only;\n" in text


def test_no_reverse_zone_when_it_is_empty(tmp_path):
    cat = catalog(tmp_path, "dns_reverse_zone=")
    assert not [e for e in cat.entries if "in-addr.arpa" in e.resource.id]
    local = resources(cat)["file[/etc/bind/named.conf.local]"].content.decode()  # type: ignore[attr-defined]
    assert "in-addr.arpa" not in local


def test_nameserver_address_defaults_to_this_hosts_address(tmp_path):
    forward = resources(catalog(tmp_path, "dns_nameserver_address=198.18.0.53"))["zone[/etc/bind/zones/db.lab.example]"]
    assert "ns1\tIN\tA\t198.18.0.53\n" in forward.render(1).decode()  # type: ignore[attr-defined]


def test_a_record_that_would_break_the_zone_file_is_bad_input(tmp_path):
    with pytest.raises(InputError) as caught:
        catalog(tmp_path, 'dns_records=[{name: x, type: A, value: "1.2.3.4\\nevil A 6.6.6.6"}]')
    assert caught.value.exit_code == 65
    assert "zone in role dns" in str(caught.value) and "must be text on one line" in str(caught.value)
