"""The cgroup (v2) subtree that holds every sandbox host; the record of what the sandbox runs."""

from __future__ import annotations

import contextlib
from pathlib import Path

from .errors import SandboxError

GROUP = "configurator-sandbox"


def unified_root() -> Path:
    """Return where the cgroup v2 hierarchy is mounted on the machine."""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        if right.split()[0] == "cgroup2":
            return Path(left.split()[4])
    raise SandboxError("no cgroup2 hierarchy is mounted on this machine; the sandbox needs one")


def host_group(name: str) -> Path:
    """Return the cgroup directory of one host."""
    return unified_root() / GROUP / name


def create(path: Path) -> None:
    """Create a cgroup directory (and parents)."""
    path.mkdir(parents=True, exist_ok=True)


def pids(path: Path) -> list[int]:
    """Return every PID in the cgroup subtree at ``path``."""
    found: list[int] = []
    for procs in sorted(path.rglob("cgroup.procs")) if path.is_dir() else []:
        with contextlib.suppress(FileNotFoundError, OSError):
            found += [int(p) for p in procs.read_text().split()]
    return found


def remove(path: Path) -> bool:
    """Remove a cgroup subtree whose processes are gone, deepest first; return whether it is."""
    if path.is_dir():
        dirs = sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
        for directory in [*dirs, path]:
            with contextlib.suppress(OSError):
                directory.rmdir()
    return not path.exists()


def pss_kib(path: Path) -> int:
    """Return the proportional set size (KiB) summed over the processes of a cgroup subtree."""
    total = 0
    for pid in pids(path):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, PermissionError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return total
