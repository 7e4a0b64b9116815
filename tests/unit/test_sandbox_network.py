"""Sandbox network text: the firewall guard and a host's interface setup."""

from configurator.sandbox.network import guard_rules, host_commands


def test_guard_accepts_only_the_proxy_ping_and_replies_from_the_bridge():
    rules = guard_rules()
    assert 'iifname "cfgbr0" ip daddr 198.18.0.1 tcp dport 3142 accept' in rules
    assert 'iifname "cfgbr0" ct state established,related accept' in rules
    input_chain = rules.split("chain input {")[1].split("}")[0].strip().splitlines()
    assert input_chain[-1].strip() == 'iifname "cfgbr0" drop'


def test_guard_never_routes_or_translates():
    rules = guard_rules()
    assert 'iifname "cfgbr0" drop\n    oifname "cfgbr0" drop' in rules
    for word in ("masquerade", "snat", "dnat", "nat"):
        assert word not in rules.replace("configurator_sandbox", "")


def test_guard_reload_is_one_idempotent_transaction():
    first = guard_rules().splitlines()[:2]
    assert first == ["table inet configurator_sandbox", "delete table inet configurator_sandbox"]


def test_host_gets_its_address_and_only_a_default_route_via_the_gateway():
    assert host_commands("198.18.0.11").splitlines() == [
        "link set lo up",
        "addr add 198.18.0.11/24 dev eth0",
        "link set eth0 up",
        "route add default via 198.18.0.1 dev eth0",
    ]
