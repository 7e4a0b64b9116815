"""Boot stages of one sandbox host; run as a standalone script (standard library only).

Stage ``launch`` runs on the machine: it joins the host's cgroup and execs ``unshare`` with
new pid/mount/uts/ipc/net/cgroup namespaces, which forks stage ``boot``.  Stage ``boot`` is
PID 1 of the new pid namespace: it mounts the overlay root and the kernel file systems,
waits until the machine has wired the network (a byte on an inherited pipe), chroots and
execs systemd, which then stays PID 1 of the host.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_CAPBSET_DROP = 24

# Capabilities outside what systemd-nspawn grants a container (plus CAP_NET_ADMIN, CAP_IPC_LOCK):
# kernel modules, raw I/O, clock, syslog, MAC, BPF and perf stay with the machine.
DROPPED_CAPS = (16, 17, 20, 25, 32, 33, 34, 35, 36, 37, 38, 39, 40)  # sys_module .. checkpoint
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
SYSTEMD = "/lib/systemd/systemd"
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_libc = ctypes.CDLL(None, use_errno=True)


def mount(source: str, target: Path, fstype: str | None, flags: int = 0, data: str = "") -> None:
    """Call mount(2), raising OSError on failure."""
    args = (source.encode(), str(target).encode(), fstype.encode() if fstype else None)
    if _libc.mount(*args, ctypes.c_ulong(flags), data.encode() or None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def bind(source: Path, target: Path, readonly: bool = False) -> None:
    """Bind-mount ``source`` on ``target``, optionally read-only."""
    mount(str(source), target, None, MS_BIND)
    if readonly:
        mount("none", target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def mount_root(root: Path, lower: str, upper: str, work: str) -> None:
    """Mount the host's overlay root file system on ``root``."""
    mount("none", Path("/"), None, MS_REC | MS_PRIVATE)
    mount("overlay", root, "overlay", 0, f"lowerdir={lower},upperdir={upper},workdir={work}")


def mount_kernel_fs(root: Path) -> None:
    """Mount /proc (kernel-wide knobs read-only), read-only /sys and the cgroup namespace."""
    mount("proc", root / "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    bind(root / "proc/sys", root / "proc/sys", readonly=True)
    bind(root / "proc/sys/net", root / "proc/sys/net")
    # a bind under a read-only mount starts read-only; net.* is per network namespace, so allow it
    mount("none", root / "proc/sys/net", None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)
    if (root / "proc/sysrq-trigger").exists():
        bind(root / "proc/sysrq-trigger", root / "proc/sysrq-trigger", readonly=True)
    mount("sysfs", root / "sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount("cgroup2", root / "sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def mount_dev(root: Path) -> None:
    """Populate a minimal /dev: basic character devices, a private devpts, shm."""
    dev = root / "dev"
    mount("tmpfs", dev, "tmpfs", MS_NOSUID, "mode=755")
    for name in DEVICES:
        (dev / name).touch()
        bind(Path("/dev") / name, dev / name)
    (dev / "pts").mkdir()
    mount("devpts", dev / "pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")
    (dev / "ptmx").symlink_to("pts/ptmx")
    (dev / "shm").mkdir()
    mount("tmpfs", dev / "shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    for i, name in enumerate(("stdin", "stdout", "stderr")):
        (dev / name).symlink_to(f"/proc/self/fd/{i}")
    (dev / "fd").symlink_to("/proc/self/fd")


def mount_tmp(root: Path) -> None:
    """Mount tmpfs on /run and /tmp."""
    mount("tmpfs", root / "run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755")
    mount("tmpfs", root / "tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")


def wait_for_go(fd: int) -> None:
    """Block until the machine writes the go byte; exit if it closes the pipe without it."""
    with os.fdopen(fd, "rb") as pipe:
        if pipe.read(1) != b"1":
            sys.exit("boot: the machine gave up before the network was ready")


def exec_systemd(root: Path) -> None:
    """Chroot into ``root``, drop machine-only capabilities and exec systemd as PID 1."""
    os.chdir(root)
    os.chroot(".")
    os.chdir("/")
    for cap in DROPPED_CAPS:
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    env = {"container": "other", "PATH": HOST_PATH, "LANG": "C.UTF-8"}
    os.execve(SYSTEMD, [SYSTEMD], env)  # noqa: S606 - becoming systemd is the point


def boot(args: argparse.Namespace) -> None:
    """Stage ``boot``: set up the root file system and become systemd."""
    root = Path(args.root)
    mount_root(root, args.lower, args.upper, args.work)
    mount_kernel_fs(root)
    mount_dev(root)
    mount_tmp(root)
    socket.sethostname(args.hostname)
    wait_for_go(args.go_fd)
    exec_systemd(root)


def launch(args: argparse.Namespace) -> None:
    """Stage ``launch``: join the host's cgroup, then exec unshare running stage ``boot``."""
    Path(args.cgroup, "cgroup.procs").write_text("0\n")
    unshare = ["unshare", "--pid", "--mount", "--uts", "--ipc", "--net", "--cgroup", "--fork"]
    unshare += ["--propagation", "private", "--", sys.executable, "-I", __file__, "boot"]
    for key in ("root", "lower", "upper", "work", "hostname", "go_fd"):
        unshare.append(f"--{key.replace('_', '-')}={getattr(args, key)}")
    os.execvp("unshare", unshare)  # noqa: S606 - argv list, replaces this stage


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """Parse the stage arguments."""
    parser = argparse.ArgumentParser(prog="boot.py")
    parser.add_argument("stage", choices=("launch", "boot"))
    for key in ("cgroup", "root", "lower", "upper", "work", "hostname"):
        parser.add_argument(f"--{key}")
    parser.add_argument("--go-fd", type=int)
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> None:
    """Run one stage."""
    args = parse(argv)
    if args.stage == "launch":
        launch(args)
    else:
        boot(args)


if __name__ == "__main__":
    main(sys.argv[1:])
