"""Where light hosts live: one address per network namespace on 198.18.0.0/24, then ports, as data."""

import ipaddress

import pytest

from configurator.sandbox import SandboxError
from configurator.sandbox.addressing import MAX_HOSTS, host_address
from configurator.sandbox.layout import GATEWAY, NETWORK
from configurator.sandbox.light_layout import (
    MAX_LIGHT_HOSTS,
    SLOTS,
    index_of,
    link_name,
    netns_name,
    place,
    places,
    slots_used,
)

BRIDGE_PORT_LIMIT = 1024  # BR_MAX_PORTS in the Linux bridge driver
TAKEN = {"198.18.0.155", "198.18.0.201", "198.18.0.202", "198.18.0.203", "198.18.0.250", "198.18.0.251",
         "198.18.0.252"}  # addresses tests name outright
DHCP_POOL = (ipaddress.ip_address("198.18.0.100"), ipaddress.ip_address("198.18.0.150"))


@pytest.mark.parametrize(
    ("index", "name", "address", "port", "slot"),
    [
        (1, "light1", "198.18.0.160", 22, 0),
        (2, "light2", "198.18.0.161", 22, 1),
        (40, "light40", "198.18.0.199", 22, 39),
        (41, "light41", "198.18.0.160", 2201, 0),
        (80, "light80", "198.18.0.199", 2201, 39),
        (81, "light81", "198.18.0.160", 2202, 0),
        (1000, "light1000", "198.18.0.199", 2224, 39),
    ],
)
def test_place_of_a_light_host(index, name, address, port, slot):
    found = place(index)
    assert (found.name, found.address, found.port, found.slot) == (name, address, port, slot)


def test_a_host_keeps_its_place_whatever_the_host_count():
    assert places(1000)[:300] == places(300) and places(300)[:10] == places(10)


def test_every_light_host_has_its_own_address_and_port_pair():
    pairs = [(p.address, p.port) for p in places(MAX_LIGHT_HOSTS)]
    assert len(set(pairs)) == MAX_LIGHT_HOSTS


def test_up_to_one_namespace_per_address_each_host_has_its_own():
    assert len({p.netns for p in places(SLOTS)}) == SLOTS
    assert slots_used(10) == list(range(10)) and slots_used(1000) == list(range(SLOTS))


def test_addresses_stay_inside_the_sandbox_network_clear_of_every_other_use():
    network = ipaddress.ip_network(NETWORK)
    full = {host_address(i) for i in range(1, MAX_HOSTS + 1)}
    for found in places(SLOTS):
        address = ipaddress.ip_address(found.address)
        assert address in network and found.address != GATEWAY
        assert found.address not in full | TAKEN
        assert not DHCP_POOL[0] <= address <= DHCP_POOL[1]


def test_the_bridge_port_limit_is_never_reached():
    links = {p.link for p in places(MAX_LIGHT_HOSTS)}
    assert len(links) + MAX_HOSTS + 1 < BRIDGE_PORT_LIMIT


def test_interface_names_fit_the_kernel_limit_and_differ_from_full_hosts():
    names = [link_name(s) for s in range(SLOTS)] + [netns_name(s) for s in range(SLOTS)]
    assert all(len(n) <= 15 and not n.startswith("cfgv-") for n in names)


@pytest.mark.parametrize("count", [0, -1, MAX_LIGHT_HOSTS + 1])
def test_counts_outside_the_plan_are_refused(count):
    with pytest.raises(SandboxError):
        places(count)


@pytest.mark.parametrize(("name", "index"), [("light1", 1), ("light1000", 1000)])
def test_index_of_a_name(name, index):
    assert index_of(name) == index


@pytest.mark.parametrize("name", ["node1", "light", "lightx", "light-1"])
def test_index_of_refuses_other_names(name):
    with pytest.raises(SandboxError):
        index_of(name)
