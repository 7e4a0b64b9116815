"""Names, addresses and interface names of sandbox hosts (host ``i`` counts from 1)."""

from __future__ import annotations

import ipaddress

from .errors import SandboxError
from .layout import GATEWAY, NETWORK

FIRST_OFFSET = 10  # node1 is .11; .2-.10 and .111-.254 stay free for tests (DHCP pools, VIPs)
MAX_HOSTS = 100
VETH_PREFIX = "cfgv-"


def check_count(count: int) -> None:
    """Reject host counts the address plan cannot hold."""
    if not 1 <= count <= MAX_HOSTS:
        raise SandboxError(f"the sandbox holds 1 to {MAX_HOSTS} hosts, not {count}")


def host_name(index: int) -> str:
    """Return the name of host ``index``: node1, node2, ..."""
    return f"node{index}"


def host_address(index: int) -> str:
    """Return the IPv4 address of host ``index`` inside the sandbox network."""
    check_count(index)
    address = ipaddress.ip_network(NETWORK)[FIRST_OFFSET + index]
    if str(address) == GATEWAY:
        raise SandboxError(f"address {address} is the gateway")
    return str(address)


def veth_name(index: int) -> str:
    """Return the machine-side veth name of host ``index`` (at most 15 characters)."""
    return f"{VETH_PREFIX}{host_name(index)}"


def index_of(name: str) -> int:
    """Return the index encoded in a host name like ``node7``."""
    if not name.startswith("node") or not name[4:].isdigit():
        raise SandboxError(f"not a sandbox host name: {name!r}")
    return int(name[4:])
