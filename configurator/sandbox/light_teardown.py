"""Removing light hosts: their processes, namespaces, veths, cgroup and files; and what is left of them."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import cgroup, host, light_state, network, process
from .light_layout import LINK_PREFIX, NETNS_PREFIX
from .light_state import LightHost, light_dir

CGROUP = "configurator-light"  # beside the full hosts' group, which `up` prunes of what it does not know
NETNS_DIR = Path("/run/netns")


def cgroup_dir() -> Path:
    """Return the cgroup that holds every light host's processes."""
    return cgroup.unified_root() / CGROUP


def netns_path(name: str) -> Path:
    """Return the file that holds a named network namespace."""
    return NETNS_DIR / name


def stop(light: LightHost) -> None:
    """End the host's sshd (PID 1: the kernel ends the rest of its PID namespace), then its launcher."""
    process.stop(light.init, signal.SIGTERM, grace=5.0)
    process.stop(light.launcher, signal.SIGTERM, grace=2.0)


def observed_netns() -> list[str]:
    """Return the light hosts' named network namespaces present on the machine."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(NETNS_PREFIX))


def observed_links() -> list[str]:
    """Return the light hosts' veths present on the machine."""
    return [name for name in network.link_names() if name.startswith(LINK_PREFIX)]


def remove(directory: Path) -> tuple[LightHost, ...]:
    """Stop every light host and remove their namespaces, veths, cgroup and files; return those recorded."""
    recorded = light_state.load(directory)
    with ThreadPoolExecutor(max_workers=max(1, min(16, len(recorded)))) as pool:
        list(pool.map(stop, recorded))
    if cgroup_dir().exists():
        host.kill_leftovers(cgroup_dir())
    for name in observed_links():
        network.delete_link(name)
    for name in observed_netns():
        network.ip("netns", "delete", name, check=False)
    shutil.rmtree(light_dir(directory), ignore_errors=True)
    light_state.save(directory, ())
    return recorded


def leftovers(directory: Path, recorded: Sequence[LightHost]) -> list[str]:
    """Return what of the light hosts is still on the machine (empty when clean)."""
    found = [f"process {h.pid} ({h.name})" for h in recorded if process.alive(h.init)]
    found += [f"process {h.launcher_pid} ({h.name})" for h in recorded if process.alive(h.launcher)]
    found += [f"cgroup {cgroup_dir()}"] if cgroup_dir().exists() else []
    found += [f"link {name}" for name in observed_links()]
    found += [f"network namespace {name}" for name in observed_netns()]
    paths = (light_dir(directory), light_state.state_path(directory))
    return found + [f"file {p}" for p in paths if p.exists()]
