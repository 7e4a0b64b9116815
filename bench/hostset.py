"""The sandbox hosts of a benchmark run, and the inventory of each tool for them.

The benchmark holds a sandbox lease while it runs, so that a test session ending meanwhile
does not take the hosts down; it never takes the sandbox down itself.
"""

from __future__ import annotations

import ipaddress
import pprint
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from configurator import sandbox
from configurator.sandbox import layout, lease
from configurator.sandbox.addressing import host_name

NETWORK = ipaddress.ip_network(layout.NETWORK)


@dataclass(frozen=True)
class Host:
    name: str
    address: str
    port: int = 22  # light hosts past the 40th share an address and listen on 2201, 2202, ...

    @property
    def target(self) -> str:
        """`address`, or `address:port` off port 22 (what the floor and the setup scripts connect to)."""
        return self.address if self.port == 22 else f"{self.address}:{self.port}"


@dataclass(frozen=True)
class HostSet:
    """Hosts plus the SSH material every tool uses for them."""

    hosts: tuple[Host, ...]
    key: str
    known_hosts: str

    @property
    def addresses(self) -> list[str]:
        return [h.target for h in self.hosts]

    def first(self, count: int) -> HostSet:
        return HostSet(self.hosts[:count], self.key, self.known_hosts)


def hold_lease() -> Any:
    """A sandbox lease for this process (released when it exits)."""
    return lease.acquire()


def ensure_up(last_index: int, configure: str) -> None:
    """`configure sandbox up --hosts N` (adds hosts, never restarts any); its refusal ends the bench."""
    done = subprocess.run([configure, "sandbox", "up", "--hosts", str(last_index)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr.strip() or f"bench: `configure sandbox up` exited {done.returncode}")
    sys.stderr.write(done.stderr)


def select(first: int, count: int, state_dir: Path | None = None) -> HostSet:
    """node{first}..node{first+count-1} of the recorded sandbox; all inside 198.18.0.0/24."""
    recorded = sandbox.load(state_dir)
    by_name = {h.name: h.address for h in recorded.hosts} if recorded else {}
    names = [host_name(i) for i in range(first, first + count)]
    missing = [n for n in names if n not in by_name]
    if missing or recorded is None:
        raise SystemExit(f"bench: sandbox has no {', '.join(missing)}; run `configure sandbox up --hosts "
                         f"{first + count - 1}`")
    hosts = tuple(Host(n, by_name[n]) for n in names)
    outside = [h.address for h in hosts if ipaddress.ip_address(h.address) not in NETWORK]
    if outside:
        raise SystemExit(f"bench: refusing addresses outside {NETWORK}: {', '.join(outside)}")
    return HostSet(hosts, str(recorded.key_path), str(recorded.known_hosts))


def configurator_inventory(hostset: HostSet, variables: dict[str, Any], path: Path) -> Path:
    """The configurator inventory: the workload vars, the bench role on every host."""
    roles = Path(__file__).resolve().parent / "workload" / "configurator" / "roles"
    data = {
        "ssh": {"user": "root", "identity": hostset.key, "known_hosts": hostset.known_hosts},
        "vars": variables,
        "roles_path": [str(roles)],
        "hosts": {h.name: {"address": h.address, **({"port": h.port} if h.port != 22 else {})}
                  for h in hostset.hosts},
        "groups": {"bench": {"hosts": [h.name for h in hostset.hosts], "roles": ["bench"]}},
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def ansible_inventory(hostset: HostSet, path: Path) -> Path:
    """The Ansible inventory: same addresses, key and known_hosts (strict checking)."""
    common = f"-o UserKnownHostsFile={hostset.known_hosts} -o StrictHostKeyChecking=yes"
    data = {"bench": {
        "hosts": {h.name: {"ansible_host": h.address} for h in hostset.hosts},
        "vars": {"ansible_user": "root", "ansible_ssh_private_key_file": hostset.key,
                 "ansible_ssh_common_args": common},
    }}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def pyinfra_inventory(hostset: HostSet, path: Path) -> Path:
    """The pyinfra inventory (a Python file): same addresses, key and known_hosts."""
    common = {"ssh_user": "root", "ssh_key": hostset.key, "ssh_known_hosts_file": hostset.known_hosts,
              "ssh_strict_host_key_checking": "yes"}
    hosts = [(h.name, {"ssh_hostname": h.address, **common}) for h in hostset.hosts]
    path.write_text(f"bench = {pprint.pformat(hosts)}\n", encoding="utf-8")
    return path
