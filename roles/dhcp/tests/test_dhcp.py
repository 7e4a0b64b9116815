"""Behaviour checks for the dhcp role, run by `configure verify` with testinfra (`host`, `role_vars`)."""

import json

CONFIG = "/etc/kea/kea-dhcp4.conf"


def live_config(host):
    """The live Kea configuration as data (Kea allows // comments; JSON does not)."""
    text = host.file(CONFIG).content_string
    return json.loads("\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//")))


def test_kea_is_running_and_enabled(host, role_vars):
    kea = host.service("kea-dhcp4-server")
    assert kea.is_running
    assert kea.is_enabled


def test_live_config_passes_kea_check(host, role_vars):
    result = host.run("kea-dhcp4 -t %s", CONFIG)
    assert result.rc == 0, result.stdout + result.stderr


def test_listens_on_the_dhcp_port(host, role_vars):
    assert "kea-dhcp4" in host.check_output("ss -H -ulnp 'sport = :67'")


def test_serves_the_configured_subnet_and_pools(host, role_vars):
    dhcp4 = live_config(host)["Dhcp4"]
    assert dhcp4["interfaces-config"]["interfaces"] == role_vars["dhcp_interfaces"]
    (subnet,) = dhcp4["subnet4"]
    assert subnet["subnet"] == role_vars["dhcp_subnet"]
    assert [p["pool"] for p in subnet["pools"]] == role_vars["dhcp_pools"]
    options = {o["name"]: o["data"] for o in subnet["option-data"]}
    if role_vars["dhcp_routers"]:
        assert options["routers"] == ", ".join(role_vars["dhcp_routers"])
    if role_vars["dhcp_dns_servers"]:
        assert options["domain-name-servers"] == ", ".join(role_vars["dhcp_dns_servers"])
    if role_vars["dhcp_domain_name"]:
        assert options["domain-name"] == role_vars["dhcp_domain_name"]
