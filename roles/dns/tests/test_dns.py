"""Behaviour checks for the dns role, run by `configure verify` with testinfra (`host`, `role_vars`)."""

import ipaddress


def dig(host, *args):
    """`dig @127.0.0.1 ARGS` on the server, bounded in time; the full answer text."""
    return host.check_output("dig @127.0.0.1 +time=2 +tries=1 " + " ".join(["%s"] * len(args)), *args)


def flags(answer):
    """The header flags of a dig answer: `;; flags: qr aa rd; QUERY: ...` -> {"qr", "aa", "rd"}."""
    return set(answer.split("flags:")[1].split(";")[0].split())


def nameserver(role_vars):
    name = role_vars["dns_nameserver"]
    return name if name.endswith(".") else f"{name}.{role_vars['dns_zone']}."


def test_named_is_running_and_enabled(host, role_vars):
    named = host.service("named")
    assert named.is_running
    assert named.is_enabled


def test_named_answers_on_port_53(host, role_vars):
    assert host.socket("udp://127.0.0.1:53").is_listening
    assert host.socket("tcp://127.0.0.1:53").is_listening
    if "any" in role_vars["dns_listen_on"]:
        assert host.socket(f"tcp://{role_vars['host']['address']}:53").is_listening


def test_configuration_and_every_zone_load(host, role_vars):
    result = host.run("named-checkconf -z /etc/bind/named.conf")
    assert result.rc == 0, result.stdout + result.stderr


def test_serves_its_zones_authoritatively(host, role_vars):
    zones = [role_vars["dns_zone"]] + ([role_vars["dns_reverse_zone"]] if role_vars["dns_reverse_zone"] else [])
    for zone in zones:
        answer = dig(host, "+norec", zone, "SOA")
        assert "status: NOERROR" in answer and "aa" in flags(answer), answer
        assert dig(host, "+short", zone, "SOA").split()[0] == nameserver(role_vars)


def test_this_host_has_its_records(host, role_vars):
    address = role_vars["host"]["address"]
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return  # a host reached by name has no A record of its own
    if role_vars.get("dns") is False:
        return
    fqdn = f"{role_vars['inventory_hostname']}.{role_vars['dns_zone']}"
    assert address in dig(host, "+short", fqdn, "A", fqdn, "AAAA").split()


def test_recursion_only_when_asked(host, role_vars):
    answer = dig(host, "+norec", f"nothing-here.{role_vars['dns_zone']}")
    assert ("ra" in flags(answer)) == bool(role_vars["dns_recursion"]), answer
