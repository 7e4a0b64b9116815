"""Whether this machine can hold more sandbox hosts: inotify instances are the scarce resource.

Every host's systemd and systemd-logind open inotify instances as root (dbus-daemon as
messagebus), and the kernel allows each user ``fs.inotify.max_user_instances`` of them (128 by
default); all hosts share root's.  A host booted past
that hangs in boot (``systemd[1]: Failed to create inotify object: Too many open files``, no
sshd), and every later ``up`` waits on it; so ``up`` refuses such hosts before booting any.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from .errors import SandboxError

# Measured on booted bookworm hosts (anon_inode:inotify links in /proc/<pid>/fd): systemd 3 and
# systemd-logind 1 as root (dbus-daemon's 1 counts for messagebus); ask-password path units masked.
PER_HOST = 4
# The same count on hosts of each release, measured the same way once booted and logged into:
# trixie's systemd-logind (257) holds none.
PER_RELEASE = {"bullseye": 4, "bookworm": PER_HOST, "trixie": 3}
MARGIN = 4  # left for other programs on the machine
LIMIT = Path("/proc/sys/fs/inotify/max_user_instances")
PROC = Path("/proc")
SUGGESTION_STEP = 128


def process_instances(fd_dir: Path, uid: int = 0) -> int:
    """Count the inotify instances one process of `uid` holds; 0 when it is gone, unreadable or another's."""
    try:
        if fd_dir.parent.stat().st_uid != uid:
            return 0
        names = os.listdir(fd_dir)
    except OSError:
        return 0
    count = 0
    for name in names:
        try:
            count += os.readlink(fd_dir / name) == "anon_inode:inotify"
        except OSError:
            continue
    return count


def open_instances(proc: Path = PROC, uid: int = 0) -> int:
    """Count the inotify instances the processes of `uid` (root: the hosts') hold now; the kernel counts per user."""
    try:
        pids = [name for name in os.listdir(proc) if name.isdigit()]
    except OSError:
        return 0
    return sum(process_instances(proc / pid / "fd", uid) for pid in pids)


def cost(releases: Iterable[str]) -> int:
    """Return the inotify instances hosts of these releases hold once booted (one entry a host)."""
    return sum(PER_RELEASE.get(release, PER_HOST) for release in releases)


def refusal(open_now: int, limit: int, adding: int, instances: int | None = None) -> str | None:
    """Return why ``adding`` more hosts (``instances`` in all; default PER_HOST each) do not fit, or None."""
    instances = PER_HOST * adding if instances is None else instances
    needed = open_now + instances + MARGIN
    if adding <= 0 or needed <= limit:
        return None
    room = max(0, (limit - MARGIN - open_now) // PER_HOST)
    suggested = -(-needed // SUGGESTION_STEP) * SUGGESTION_STEP
    return (
        f"{adding} more hosts need about {instances} inotify instances on top of the "
        f"{open_now} open now, the limit is {limit} (fs.inotify.max_user_instances), room for "
        f"{room} more: run `sysctl fs.inotify.max_user_instances={suggested}` as root, "
        f"or ask for fewer hosts"
    )


def check(adding: int, limit_path: Path = LIMIT, instances: int | None = None) -> None:
    """Raise SandboxError when this machine cannot hold ``adding`` more hosts (``instances`` in all)."""
    if adding <= 0:
        return
    reason = refusal(open_instances(), int(limit_path.read_text()), adding, instances)
    if reason is not None:
        raise SandboxError(reason)
