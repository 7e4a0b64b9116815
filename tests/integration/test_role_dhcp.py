"""The dhcp role on a real host (node4 serves on eth0) with a real DHCP client inside node5; on trixie
node46 serves and node47 is the client.

The client runs on a second interface of node5 (dhcp0, a veth whose other end, cfgdhcp0, is
put on the sandbox bridge), so node5's own eth0 and SSH stay as they are; the client's script
only prints what it was given, and nothing runs in the machine's own namespaces.
"""

from __future__ import annotations

import contextlib
import ipaddress
import subprocess
from pathlib import Path
from typing import Any

import pytest

from configurator.engine.actions import REFUSED
from configurator.sandbox import SandboxError
from configurator.sandbox.layout import BRIDGE
from tests.integration.engine_helpers import RoleLab, changed_steps, configure, sh

pytestmark = pytest.mark.integration

PAIRS = {"bookworm": ("node4", "node5"), "trixie": ("node46", "node47")}  # (server, client) of each release
DHCP_SERVERS = ("node1", "node4", "node46")  # every sandbox host a test gives the dhcp role (node1: the demo)
VETH, PEER = "cfgdhcp0", "dhcp0"  # machine side (on the bridge), client side (inside node5)
CONFIG = "/etc/kea/kea-dhcp4.conf"
POOL = (ipaddress.ip_address("198.18.0.100"), ipaddress.ip_address("198.18.0.150"))
MAC_POOL, MAC_RESERVED = "02:cf:d4:00:00:01", "02:cf:d4:00:00:02"
RESERVED = "198.18.0.155"
PRINT_ENV = "#!/bin/sh\necho \"event=$1\"\nenv | grep -E '^(ip|router|dns|domain|subnet|serverid|hostname)='\n"
LAB_VARS = {"dhcp_pools": ["198.18.0.100 - 198.18.0.150"], "dhcp_routers": ["198.18.0.1"],
            "dhcp_dns_servers": ["198.18.0.14"], "dhcp_domain_name": "lab.example"}


class Lab(RoleLab):
    """An inventory with node4 as the DHCP server; more hosts (only in the inventory) may be added."""

    def __init__(self, sandbox: Any, folder: Path, server: str, client: str) -> None:
        super().__init__(sandbox, folder, server, "dhcp", LAB_VARS)
        self.server, self.client = sandbox.host(server), sandbox.host(client)
        self.hosts.update({h.name: {"address": h.address} for h in (self.server, self.client)})


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0


@pytest.fixture(scope="module", params=sorted(PAIRS))
def lab(request, sandbox, tmp_path_factory):
    lab = Lab(sandbox, tmp_path_factory.mktemp("dhcp"), *PAIRS[request.param])
    assert lab.server.release == lab.client.release == request.param
    # a clean server: no leases from earlier runs (a live lease on a reserved address is a conflict
    # Kea rightly refuses to break), no start-rate limit left from a run just before
    sh(lab.server, "systemctl stop kea-dhcp4-server; systemctl reset-failed kea-dhcp4-server; "
                   "rm -f /var/lib/kea/kea-leases4.csv*", check=False)
    # one DHCP server on the bridge: another would answer too. Named here, so that the test files converging
    # them (the demo's node1: the tour and the engine tests) never run beside this one (tests/integration/groups.py)
    for other in [sandbox.host(name) for name in DHCP_SERVERS if name != lab.server.name]:
        # a host another test is rebooting at this moment answers no DHCP request
        with contextlib.suppress(SandboxError):
            sh(other, "systemctl stop kea-dhcp4-server 2>/dev/null; true", check=False)
    code, data = lab.apply()
    assert code == 0, data
    yield lab
    # leave no DHCP server answering on the shared test bridge
    sh(lab.server, "systemctl stop kea-dhcp4-server", check=False)


@pytest.fixture(scope="module")
def client(lab):
    """dhcp0 inside node5, its peer cfgdhcp0 on the bridge; busybox's udhcpc with a print-only script."""
    sh(lab.client, "command -v busybox >/dev/null || { export DEBIAN_FRONTEND=noninteractive; "
                   "apt-get install -y -q busybox >/dev/null 2>&1 || "
                   "{ apt-get update -q >/dev/null && apt-get install -y -q busybox >/dev/null; }; }")
    sh(lab.client, f"cat > /tmp/cfg-udhcpc-print <<'EOF'\n{PRINT_ENV}EOF\nchmod 755 /tmp/cfg-udhcpc-print")
    if link_exists(VETH):  # left over by an interrupted run
        ip("link", "delete", VETH)
    ip("link", "add", VETH, "type", "veth", "peer", "name", PEER, "netns", f"/proc/{lab.client.pid}/ns/net")
    try:
        ip("link", "set", VETH, "master", BRIDGE, "up")
        yield lab.client
    finally:
        ip("link", "delete", VETH)  # its peer inside node5 goes with it


def lease(lab: Lab, mac: str) -> dict[str, str]:
    """Ask for a lease from node5's dhcp0 with `mac` (released again); what the client was given on `bound`."""
    sh(lab.client, f"ip link set {PEER} down && ip link set {PEER} address {mac} && ip link set {PEER} up")
    out = sh(lab.client, f"busybox udhcpc -i {PEER} -n -q -R -f -t 4 -T 2 -s /tmp/cfg-udhcpc-print 2>&1",
             check=False)  # -R: release the lease when done
    if "event=bound" not in out:
        reach = sh(lab.client, f"timeout 3 sh -c 'exec 3<>/dev/tcp/{lab.server.address}/22' </dev/null "
                               "&& echo yes || echo no", check=False).strip()
        pytest.fail(f"no lease for {mac}:\n{out}\n{lab.client.name} reaches {lab.server.name}:22 over the bridge: "
                    f"{reach} (if not, the machine filters bridged traffic between the hosts)")
    bound = out.split("event=bound", 1)[1]
    return dict(line.split("=", 1) for line in bound.splitlines() if "=" in line)


def test_second_apply_changes_nothing(lab):
    code, data = lab.apply("--detailed-exitcode")
    assert code == 0, data
    assert changed_steps(data) == {lab.server_name: []}
    assert data["hosts"][0]["round_trips"] == 1


def test_a_client_gets_a_pool_lease_with_router_dns_and_domain(lab, client):
    got = lease(lab, MAC_POOL)
    assert POOL[0] <= ipaddress.ip_address(got["ip"]) <= POOL[1], got
    assert got["router"] == "198.18.0.1"
    assert got["dns"] == "198.18.0.14"
    assert got["domain"] == "lab.example"
    assert got["serverid"] == lab.server.address
    assert got["subnet"] == "255.255.255.0"


def test_a_mac_reserved_in_the_inventory_gets_its_address(lab, client):
    lab.hosts["printer"] = {"address": RESERVED, "vars": {"mac": MAC_RESERVED, "dns": False}}
    code, data = lab.apply("--detailed-exitcode")
    assert code == 2, data
    assert changed_steps(data, ("changed",)) == {lab.server_name: [f"file[{CONFIG}]"]}
    assert data["hosts"][0]["handlers"] == ["restart kea-dhcp4"]
    code, data = lab.apply("--detailed-exitcode")
    assert code == 0 and changed_steps(data) == {lab.server_name: []}, data

    got = lease(lab, MAC_RESERVED)
    assert got["ip"] == RESERVED
    assert got["hostname"] == "printer"
    assert got["router"] == "198.18.0.1"
    assert POOL[0] <= ipaddress.ip_address(lease(lab, MAC_POOL)["ip"]) <= POOL[1]  # others still from the pool


def test_a_config_kea_refuses_is_never_installed(lab):
    before = sh(lab.server, f"sha256sum {CONFIG}")
    code, data = lab.apply("--var", 'dhcp_pools=["198.18.1.100 - 198.18.1.150"]')  # not inside the subnet
    assert code == 1, data
    error = data["hosts"][0]["error"]
    assert error.startswith(f"file[{CONFIG}]: exit {REFUSED}:") and "the file was left unchanged" in error, error
    assert "198.18.1.100" in error  # kea-dhcp4 -t says what it refused
    assert sh(lab.server, f"sha256sum {CONFIG}") == before
    assert sh(lab.server, "systemctl is-active kea-dhcp4-server").strip() == "active"
    code, data = lab.apply()
    assert code == 0, data


def test_the_roles_own_tests_and_generated_checks_pass(lab):
    code, data = configure("verify", lab.write(), "--limit", lab.server_name, report=lab.folder / "verify.json")
    assert code == 0, data
    names = [c["name"] for c in data["hosts"][0]["checks"]]
    assert "dhcp/tests/test_dhcp.py::test_live_config_passes_kea_check" in names
