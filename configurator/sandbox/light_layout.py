"""Where light hosts live on the sandbox network: one address per network namespace, then ports.

The hosts' network is 198.18.0.0/24, and most of it is taken: the gateway (.1), the full hosts
(.11-.110), the DHCP pool of the tests (.100-.150) and the addresses tests name (.155, .201-.203,
.250-.252).  Light hosts get the 40 addresses .160-.199, one network namespace (one veth on the
bridge) per address.  Light hosts 1..40 each have a namespace of their own and listen on port 22;
light host 41 shares light1's namespace and address on port 2201, light81 too on port 2202, and
so on: every light host keeps its own sshd, host key and mount namespace, and its address and port
never change with the number of hosts.  The bridge thus carries at most 40 more ports, far below
the 1,024 a Linux bridge takes.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .errors import SandboxError
from .layout import NETWORK

FIRST_OFFSET = 160  # light host slot 0 is 198.18.0.160
SLOTS = 40  # .160-.199: clear of the full hosts, the tests' DHCP pool and the addresses tests use
FIRST_SHARED_PORT = 2200  # round r > 0 listens on 2200 + r
MAX_LIGHT_HOSTS = 2000
NAME_PREFIX = "light"
LINK_PREFIX = "cfgl-"  # machine-side veths; full hosts' are cfgv-, which `up` prunes as its own
NETNS_PREFIX = "cfgl-"


@dataclass(frozen=True)
class LightPlace:
    """Where one light host listens: its namespace slot, address and port."""

    index: int
    slot: int
    address: str
    port: int

    @property
    def name(self) -> str:
        """The host's name: light1, light2, ..."""
        return f"{NAME_PREFIX}{self.index}"

    @property
    def netns(self) -> str:
        """The named network namespace the host runs in (shared by hosts of the same slot)."""
        return netns_name(self.slot)

    @property
    def link(self) -> str:
        """The machine-side veth of the host's namespace."""
        return link_name(self.slot)


def check_count(count: int) -> None:
    """Reject light host counts outside what the layout and this machine are meant for."""
    if not 1 <= count <= MAX_LIGHT_HOSTS:
        raise SandboxError(f"the sandbox holds 1 to {MAX_LIGHT_HOSTS} light hosts, not {count}")


def slot_address(slot: int) -> str:
    """Return the address of namespace slot ``slot``."""
    if not 0 <= slot < SLOTS:
        raise SandboxError(f"no light namespace slot {slot} (0..{SLOTS - 1})")
    return str(ipaddress.ip_network(NETWORK)[FIRST_OFFSET + slot])


def netns_name(slot: int) -> str:
    """Return the name of the network namespace of ``slot``."""
    return f"{NETNS_PREFIX}{slot}"


def link_name(slot: int) -> str:
    """Return the machine-side veth name of ``slot`` (at most 15 characters)."""
    return f"{LINK_PREFIX}{slot}"


def place(index: int) -> LightPlace:
    """Return where light host ``index`` (from 1) lives; the same whatever the host count."""
    check_count(index)
    slot, round_ = (index - 1) % SLOTS, (index - 1) // SLOTS
    port = 22 if round_ == 0 else FIRST_SHARED_PORT + round_
    return LightPlace(index, slot, slot_address(slot), port)


def places(count: int) -> list[LightPlace]:
    """Return the places of light hosts 1..count."""
    check_count(count)
    return [place(i) for i in range(1, count + 1)]


def slots_used(count: int) -> list[int]:
    """Return the namespace slots light hosts 1..count occupy."""
    return list(range(min(count, SLOTS)))


def index_of(name: str) -> int:
    """Return the index of a light host name like ``light7``."""
    digits = name[len(NAME_PREFIX) :]
    if not name.startswith(NAME_PREFIX) or not digits.isdigit():
        raise SandboxError(f"not a light host name: {name!r}")
    return int(digits)
