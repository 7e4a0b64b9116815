"""Sandbox: real Debian hosts (bullseye, bookworm, trixie) on this machine, systemd as PID 1, over SSH.

Each host is an overlay on the debootstrapped base of its release, booted in its own pid/mount/uts/ipc/net/
cgroup namespaces, wired to the bridge cfgbr0 (198.18.0.0/24); packages come through an
apt-cacher-ng proxy on the bridge.  Needs root on Linux.
"""

from __future__ import annotations

from .errors import SandboxError
from .host import run_in
from .lifecycle import down, load, up
from .state import Sandbox, SandboxHost
from .status import HostStatus, status

__all__ = [
    "HostStatus",
    "Sandbox",
    "SandboxError",
    "SandboxHost",
    "down",
    "load",
    "run_in",
    "status",
    "up",
]
