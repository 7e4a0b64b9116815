"""Boot one light host; run as a standalone script (standard library only).

The machine starts it through ``nsenter`` into the network namespace of the host's slot and
``unshare`` with new pid/mount/uts/ipc namespaces; this script is PID 1 of the new pid namespace: it
mounts a small tmpfs, an overlay (upper on that tmpfs; lower: the host's seed tree over the
shared read-only base) as the root, /proc and a minimal /dev, chroots and execs sshd, which stays
PID 1: when it ends, the kernel ends everything else the host ran.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # -I leaves the script's folder out

import boot  # type: ignore[import-not-found]  # noqa: E402 - the full hosts' mount helpers

SSHD = "/usr/sbin/sshd"
TMPFS_SIZE = "64m"  # a bound, not a reservation: tmpfs pages are used as files are written


def mount_root(top: Path, lower: str) -> Path:
    """Mount a tmpfs on ``top`` and the host's overlay root inside it; return the root."""
    boot.mount("none", Path("/"), None, boot.MS_REC | boot.MS_PRIVATE)
    boot.mount("tmpfs", top, "tmpfs", boot.MS_NOSUID, f"size={TMPFS_SIZE},mode=755")
    for sub in ("upper", "work", "root"):
        (top / sub).mkdir()
    root = top / "root"
    options = f"lowerdir={lower},upperdir={top / 'upper'},workdir={top / 'work'}"
    boot.mount("overlay", root, "overlay", 0, options)
    return root


def mount_kernel_fs(root: Path) -> None:
    """Mount /proc of the new PID namespace, with the kernel-wide knobs read-only."""
    boot.mount("proc", root / "proc", "proc", boot.MS_NOSUID | boot.MS_NODEV | boot.MS_NOEXEC)
    boot.bind(root / "proc/sys", root / "proc/sys", readonly=True)


def exec_sshd(root: Path, port: int) -> None:
    """Chroot into ``root`` and exec sshd in the foreground on ``port``, logging to stderr."""
    (root / "run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
    os.chdir(root)
    os.chroot(".")
    os.chdir("/")
    for cap in boot.DROPPED_CAPS:
        boot._libc.prctl(boot.PR_CAPBSET_DROP, cap, 0, 0, 0)
    env = {"PATH": boot.HOST_PATH, "LANG": "C.UTF-8"}
    argv = [SSHD, "-D", "-e", "-p", str(port)]
    os.execve(SSHD, argv, env)  # noqa: S606 - becoming sshd is the point


def start(args: argparse.Namespace) -> None:
    """Set up the root file system and become sshd."""
    root = mount_root(Path(args.top), args.lower)
    mount_kernel_fs(root)
    boot.mount_dev(root)
    boot.mount("tmpfs", root / "run", "tmpfs", boot.MS_NOSUID | boot.MS_NODEV, "size=8m,mode=755")
    socket.sethostname(args.hostname)
    exec_sshd(root, args.port)


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """Parse the stage arguments."""
    parser = argparse.ArgumentParser(prog="light_boot.py")
    for key in ("top", "lower", "hostname"):
        parser.add_argument(f"--{key}")
    parser.add_argument("--port", type=int, default=22)
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> None:
    """Run one stage."""
    start(parse(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
