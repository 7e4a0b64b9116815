"""The sandbox hosts of a benchmark run, and the inventory of each tool for them.

The benchmark holds a sandbox lease while it runs, so that a test session ending meanwhile
does not take the hosts down; it never takes the sandbox down itself.
"""

from __future__ import annotations

import ipaddress
import os
import pprint
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SANDBOX_DIR = Path("/var/lib/configurator/sandbox")
NETWORK = ipaddress.ip_network("198.18.0.0/24")
INOTIFY_PER_HOST = 8  # measured: 7 per booted host (systemd 5, dbus-daemon 1, systemd-logind 1), plus a margin


@dataclass(frozen=True)
class Host:
    name: str
    address: str


@dataclass(frozen=True)
class HostSet:
    """Hosts plus the SSH material every tool uses for them."""

    hosts: tuple[Host, ...]
    key: str
    known_hosts: str

    @property
    def addresses(self) -> list[str]:
        return [h.address for h in self.hosts]

    def first(self, count: int) -> HostSet:
        return HostSet(self.hosts[:count], self.key, self.known_hosts)


def hold_lease() -> Any:
    """A sandbox lease for this process (released when it exits)."""
    from configurator.sandbox import lease

    return lease.acquire()


def inotify_instances() -> int:
    """inotify instances open on this machine (every sandbox host's systemd, dbus and logind hold some)."""
    count = 0
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            count += os.readlink(fd) == "anon_inode:inotify"
        except OSError:
            continue
    return count


def check_capacity(new_hosts: int) -> None:
    """Refuse to boot hosts that fs.inotify.max_user_instances cannot hold: their systemd would hang in boot
    ("Failed to create inotify object: Too many open files") and every later `sandbox up` would wait on them."""
    limit = int(Path("/proc/sys/fs/inotify/max_user_instances").read_text())
    needed = inotify_instances() + INOTIFY_PER_HOST * new_hosts
    if new_hosts > 0 and needed > limit:
        raise SystemExit(f"bench: {new_hosts} more sandbox hosts need about {needed} inotify instances, the "
                         f"machine allows {limit} (fs.inotify.max_user_instances); not booting them")


def ensure_up(last_index: int, configure: str, sandbox_dir: Path = SANDBOX_DIR) -> None:
    """`configure sandbox up --hosts N` (idempotent: adds hosts, never restarts running ones)."""
    inventory = sandbox_dir / "inventory.yml"
    known = yaml.safe_load(inventory.read_text(encoding="utf-8"))["hosts"] if inventory.exists() else {}
    check_capacity(last_index - len(known))
    subprocess.run([configure, "sandbox", "up", "--hosts", str(last_index)], check=True,
                   stdout=subprocess.DEVNULL)


def select(first: int, count: int, sandbox_dir: Path = SANDBOX_DIR) -> HostSet:
    """node{first}..node{first+count-1} from the sandbox inventory; all inside 198.18.0.0/24."""
    data = yaml.safe_load((sandbox_dir / "inventory.yml").read_text(encoding="utf-8"))
    names = [f"node{i}" for i in range(first, first + count)]
    missing = [n for n in names if n not in data["hosts"]]
    if missing:
        raise SystemExit(f"bench: sandbox has no {', '.join(missing)}; run `configure sandbox up --hosts "
                         f"{first + count - 1}`")
    hosts = tuple(Host(n, str(data["hosts"][n]["address"])) for n in names)
    outside = [h.address for h in hosts if ipaddress.ip_address(h.address) not in NETWORK]
    if outside:
        raise SystemExit(f"bench: refusing addresses outside {NETWORK}: {', '.join(outside)}")
    ssh = data["ssh"]
    return HostSet(hosts, str(ssh["identity"]), str(ssh["known_hosts"]))


def configurator_inventory(hostset: HostSet, variables: dict[str, Any], path: Path) -> Path:
    """The configurator inventory: the workload vars, the bench role on every host."""
    roles = Path(__file__).resolve().parent / "workload" / "configurator" / "roles"
    data = {
        "ssh": {"user": "root", "identity": hostset.key, "known_hosts": hostset.known_hosts},
        "vars": variables,
        "roles_path": [str(roles)],
        "hosts": {h.name: {"address": h.address} for h in hostset.hosts},
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
