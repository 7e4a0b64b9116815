"""What ``down`` removes, as a plain value, and the code that removes it and checks nothing is left."""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import cgroup, host, network, process, proxy
from .addressing import VETH_PREFIX
from .layout import BRIDGE
from .process import ProcessRef
from .state import Sandbox, SandboxHost, state_file

GENERATED = ("known_hosts", "inventory.yml")


@dataclass(frozen=True)
class Teardown:
    """Everything the sandbox created that ``down`` removes (never the base or the apt cache)."""

    hosts: tuple[SandboxHost, ...]
    proxy: ProcessRef | None
    links: tuple[str, ...]
    nft_table: str
    cgroups: tuple[Path, ...]
    paths: tuple[Path, ...]
    state_dir: Path


def plan(sandbox: Sandbox, stale_links: tuple[str, ...] = (), stale_cgroups: tuple[Path, ...] = ()) -> Teardown:
    """Return what to remove for a recorded sandbox plus stale leftovers found on the machine."""
    veths = tuple(h.veth for h in sandbox.hosts)
    links = tuple(dict.fromkeys((*veths, *stale_links, BRIDGE)))
    groups = tuple(dict.fromkeys((*(h.cgroup for h in sandbox.hosts), *stale_cgroups)))
    files = (sandbox.state_dir / "hosts", *(sandbox.state_dir / n for n in GENERATED))
    paths = (*files, state_file(sandbox.state_dir))
    return Teardown(sandbox.hosts, sandbox.proxy, links, network.NFT_TABLE, groups, paths, sandbox.state_dir)


def observed_cgroups() -> tuple[Path, ...]:
    """Return the host cgroups present on the machine."""
    group = cgroup.unified_root() / cgroup.GROUP
    return tuple(sorted(p for p in group.iterdir() if p.is_dir())) if group.is_dir() else ()


def observed_plan(sandbox: Sandbox) -> Teardown:
    """Return the teardown plan including stale veths and cgroups seen on the machine."""
    return plan(sandbox, tuple(network.stale_veths(set())), observed_cgroups())


def mounts_below(path: Path) -> list[Path]:
    """Return the machine's mount points at or below ``path``, deepest first."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = Path(line.split()[4].replace("\\040", " "))
        if point == path or path in point.parents:
            found.append(point)
    return sorted(found, key=lambda p: -len(p.parts))


def execute(teardown: Teardown) -> None:
    """Stop every host and the proxy, remove links, firewall guard, cgroups, mounts and files."""
    with ThreadPoolExecutor(max_workers=max(1, min(16, len(teardown.hosts)))) as pool:
        list(pool.map(host.stop, teardown.hosts))
    proxy.stop(teardown.proxy)
    for name in teardown.links:
        network.delete_link(name)
    network.remove_guard()
    for group in teardown.cgroups:
        host.kill_leftovers(group)
    cgroup.remove(cgroup.unified_root() / cgroup.GROUP)
    for point in mounts_below(teardown.state_dir):
        subprocess.run(["umount", "-l", str(point)], check=False)
    for path in teardown.paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def leftovers(teardown: Teardown) -> list[str]:
    """Return what of a teardown plan is still present on the machine (empty when clean)."""
    found = [f"process {h.pid} ({h.name})" for h in teardown.hosts if process.alive(h.init)]
    found += [f"process {h.launcher_pid}" for h in teardown.hosts if process.alive(h.launcher)]
    if teardown.proxy and process.alive(teardown.proxy):
        found.append(f"proxy process {teardown.proxy.pid}")
    links = network.link_names()
    found += [f"link {n}" for n in links if n == BRIDGE or n.startswith(VETH_PREFIX)]
    found += [f"mount {p}" for p in mounts_below(teardown.state_dir)]
    found += [f"cgroup {p}" for p in teardown.cgroups if p.exists()]
    found += [f"file {p}" for p in teardown.paths if p.exists()]
    return found + ([f"nft table {teardown.nft_table}"] if network.guard_present() else [])
