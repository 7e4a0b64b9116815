"""The sandbox network: bridge cfgbr0 on the machine, one veth per host, and a firewall guard.

Hosts reach only the bridge: no IP forwarding, no NAT, and the machine accepts from the bridge
only the proxy port, ping and replies to its own connections.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from . import delay_netns
from .addressing import VETH_PREFIX
from .errors import SandboxError
from .layout import BRIDGE, GATEWAY, PREFIX_LEN, PROXY_PORT

NFT_TABLE = "configurator_sandbox"


def ip(*args: str, check: bool = True, stdin: str | None = None) -> str:
    """Run ``ip`` on the machine and return its output."""
    result = subprocess.run(["ip", *args], input=stdin, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise SandboxError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def link_names() -> list[str]:
    """Return the names of the machine's network interfaces."""
    return [link["ifname"] for link in json.loads(ip("-json", "link", "show") or "[]")]


def ensure_bridge() -> None:
    """Create the bridge with the gateway address (idempotent), IPv6 off."""
    if BRIDGE not in link_names():
        ip("link", "add", BRIDGE, "type", "bridge")
    ipv6 = Path(f"/proc/sys/net/ipv6/conf/{BRIDGE}/disable_ipv6")
    if ipv6.exists():
        ipv6.write_text("1\n")
    ip("addr", "replace", f"{GATEWAY}/{PREFIX_LEN}", "dev", BRIDGE)
    ip("link", "set", BRIDGE, "up")


def delete_link(name: str) -> None:
    """Delete an interface if it exists (ip fails quietly when it does not: no need to list links first)."""
    ip("link", "delete", name, check=False)


def reconnect(veth: str) -> bool:
    """Put an existing host veth back on the bridge; False when the veth is gone."""
    if veth not in link_names():
        return False
    ip("link", "set", veth, "master", BRIDGE, "up")
    return True


def stale_veths(keep: set[str]) -> list[str]:
    """Return sandbox veths on the machine that no kept host owns."""
    return [n for n in link_names() if n.startswith(VETH_PREFIX) and n not in keep]


def host_commands(address: str) -> str:
    """Return the ``ip -batch`` commands that configure a host's side of its veth."""
    return (
        "\n".join(
            [
                "link set lo up",
                f"addr add {address}/{PREFIX_LEN} dev eth0",
                "link set eth0 up",
                f"route add default via {GATEWAY} dev eth0",
            ]
        )
        + "\n"
    )


def attach(veth: str, pid: int, address: str) -> None:
    """Create the veth pair into the network namespace of ``pid`` and configure both ends."""
    delete_link(veth)
    ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", str(pid))
    ip("link", "set", veth, "master", BRIDGE, "up")
    argv = [*delay_netns.nsenter(pid), "ip", "-batch", "-"]
    result = subprocess.run(argv, input=host_commands(address), capture_output=True, text=True)
    if result.returncode != 0:
        raise SandboxError(f"configuring eth0 of PID {pid}: {result.stderr.strip()}")


def guard_rules() -> str:
    """Return the nftables script that limits what the hosts may send to the machine."""
    table = f"inet {NFT_TABLE}"
    return f"""table {table}
delete table {table}
table {table} {{
  chain input {{
    type filter hook input priority 0; policy accept;
    iifname "{BRIDGE}" ct state established,related accept
    iifname "{BRIDGE}" ip daddr {GATEWAY} tcp dport {PROXY_PORT} accept
    iifname "{BRIDGE}" icmp type echo-request accept
    iifname "{BRIDGE}" drop
  }}
  # host to host on the bridge is allowed (br_netfilter passes bridged frames through here);
  # nothing is forwarded between the bridge and any other interface
  chain forward {{
    type filter hook forward priority 0; policy accept;
    iifname "{BRIDGE}" oifname "{BRIDGE}" accept
    iifname "{BRIDGE}" drop
    oifname "{BRIDGE}" drop
  }}
}}
"""


def install_guard() -> None:
    """Load (or reload) the guard table."""
    result = subprocess.run(["nft", "-f", "-"], input=guard_rules(), capture_output=True, text=True)
    if result.returncode != 0:
        raise SandboxError(f"nft: {result.stderr.strip()}")


def remove_guard() -> None:
    """Delete the guard table if present."""
    subprocess.run(["nft", "delete", "table", "inet", NFT_TABLE], capture_output=True)


def guard_present() -> bool:
    """Tell whether the guard table is loaded."""
    result = subprocess.run(["nft", "list", "table", "inet", NFT_TABLE], capture_output=True)
    return result.returncode == 0
