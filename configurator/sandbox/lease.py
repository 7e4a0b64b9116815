"""Test sessions sharing one sandbox: each holds a lease, the last one out takes it down.

The sandbox is taken down only if a lease holder started it; a sandbox someone brought up by
hand before any session stays up.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import layout, ownership, process

LEASES = "leases"
STARTED = "started-by-a-lease"


@dataclass(frozen=True)
class Lease:
    """One holder's claim on the sandbox of ``state_dir``."""

    path: Path
    state_dir: Path


@contextmanager
def _locked(leases: Path) -> Iterator[None]:
    """Serialize lease changes for one state dir."""
    leases.mkdir(parents=True, exist_ok=True)
    with open(leases / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def holders(leases: Path) -> list[Path]:
    """Return the lease files whose holder process still runs (dropping the others)."""
    live = []
    for path in leases.glob("[0-9]*-[0-9]*"):
        pid, start = (int(part) for part in path.name.split("-"))
        if process.alive(process.ProcessRef(pid, start)):
            live.append(path)
        else:
            path.unlink(missing_ok=True)
    return live


def acquire(state_dir: Path | None = None) -> Lease:
    """Take a lease for this process; note whether the sandbox has to be started for it."""
    directory = layout.state_dir(state_dir)
    leases = directory / LEASES
    with _locked(leases):
        if not ownership.is_live(directory):
            (leases / STARTED).touch()
        me = process.ref(os.getpid())
        path = leases / f"{me.pid}-{me.start}"
        path.touch()
    return Lease(path, directory)


def release(lease: Lease, stop: Callable[[], None] | None) -> bool:
    """Drop a lease; call ``stop`` if it was the last one and a lease holder started the sandbox.

    With ``stop`` None (keep the sandbox) the note that a holder started it stays, so a later
    last holder that does not keep it takes it down.
    """
    leases = lease.path.parent
    with _locked(leases):
        lease.path.unlink(missing_ok=True)
        if stop is None or holders(leases) or not (leases / STARTED).exists():
            return False
        (leases / STARTED).unlink()
        stop()
        return True
