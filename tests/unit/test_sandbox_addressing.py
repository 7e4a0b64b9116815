"""Sandbox address plan: names, addresses and veth names of hosts."""

import ipaddress

import pytest

from configurator.sandbox import SandboxError
from configurator.sandbox.addressing import (
    MAX_HOSTS,
    check_count,
    host_address,
    host_name,
    index_of,
    veth_name,
)
from configurator.sandbox.layout import GATEWAY, NETWORK


def test_first_hosts():
    assert [(host_name(i), host_address(i)) for i in (1, 2, 10)] == [
        ("node1", "198.18.0.11"),
        ("node2", "198.18.0.12"),
        ("node10", "198.18.0.20"),
    ]


def test_every_address_is_unique_inside_the_sandbox_network_and_not_the_gateway():
    addresses = [host_address(i) for i in range(1, MAX_HOSTS + 1)]
    assert len(set(addresses)) == MAX_HOSTS
    network = ipaddress.ip_network(NETWORK)
    assert all(ipaddress.ip_address(a) in network for a in addresses)
    assert GATEWAY not in addresses and str(network.broadcast_address) not in addresses


def test_veth_names_fit_the_kernel_limit():
    assert veth_name(1) == "cfgv-node1"
    assert all(len(veth_name(i)) <= 15 for i in range(1, MAX_HOSTS + 1))


@pytest.mark.parametrize("count", [0, -1, MAX_HOSTS + 1])
def test_counts_outside_the_plan_are_refused(count):
    with pytest.raises(SandboxError):
        check_count(count)


def test_index_of_reverses_host_name():
    assert index_of(host_name(42)) == 42
    with pytest.raises(SandboxError):
        index_of("web1")
