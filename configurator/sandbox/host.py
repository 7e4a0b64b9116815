"""One sandbox host: its per-host files, booting it in fresh namespaces, stopping it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import cgroup, keys, network, process
from .addressing import host_address, host_name, veth_name
from .boot import HOST_PATH
from .errors import SandboxError
from .releases import DEFAULT, base_dir
from .state import SandboxHost

BOOT_SCRIPT = Path(__file__).with_name("boot.py")
HOST_ENV = {
    "PATH": HOST_PATH,
    "LANG": "C.UTF-8",
    "HOME": "/root",
    "TERM": "dumb",
}
HALT = signal.SIGRTMIN + 3  # what systemd, as a container's init, takes as "halt"


def planned(index: int, hosts_dir: Path, release: str = DEFAULT) -> SandboxHost:
    """Return the host with number ``index`` running ``release``, before it runs (no PIDs yet)."""
    name = host_name(index)
    return SandboxHost(
        name=name,
        address=host_address(index),
        pid=0,
        veth=veth_name(index),
        index=index,
        host_dir=hosts_dir / name,
        cgroup=cgroup.host_group(name),
        release=release,
    )


def upper(host: SandboxHost) -> Path:
    """Return the host's overlay upper directory (its own changes to the base)."""
    return host.host_dir / "upper"


def mkdirs_like(top: Path, relative: str, lower: Path) -> Path:
    """Create directories below ``top`` with the modes the base has for the same paths."""
    path = top
    for part in Path(relative).parts:
        path = path / part
        twin = lower / path.relative_to(top)
        if not path.exists():
            path.mkdir()
            if twin.is_dir():
                path.chmod(twin.stat().st_mode & 0o7777)
    return path


def put(top: Path, lower: Path, relative: str, text: str, mode: int = 0o644) -> None:
    """Write one file into an upper tree, creating parents like the base has them."""
    target = mkdirs_like(top, str(Path(relative).parent), lower) / Path(relative).name
    target.write_text(text)
    target.chmod(mode)


def prepare(host: SandboxHost, client_key: str, etc_hosts: str) -> str:
    """Create fresh per-host directories and files; return the host's public host key."""
    shutil.rmtree(host.host_dir, ignore_errors=True)
    for sub in ("upper", "work", "root"):
        (host.host_dir / sub).mkdir(parents=True)
    top, lower = upper(host), base_dir(host.release)
    put(top, lower, "etc/hostname", host.name + "\n")
    put(top, lower, "etc/machine-id", uuid.uuid4().hex + "\n", 0o444)
    put(top, lower, "etc/hosts", etc_hosts)
    put(top, lower, "root/.ssh/authorized_keys", client_key + "\n", 0o600)
    (top / "root/.ssh").chmod(0o700)
    mkdirs_like(top, "etc/ssh", lower)
    return keys.make_host_key(top, host.name)


def boot_argv(host: SandboxHost, go_fd: int) -> list[str]:
    """Return the command that boots a host (see boot.py)."""
    d = host.host_dir
    return [
        sys.executable,
        "-I",
        str(BOOT_SCRIPT),
        "launch",
        f"--cgroup={host.cgroup}",
        f"--root={d / 'root'}",
        f"--lower={base_dir(host.release)}",
        f"--upper={d / 'upper'}",
        f"--work={d / 'work'}",
        f"--hostname={host.name}",
        f"--go-fd={go_fd}",
    ]


def spawn(host: SandboxHost, go_fd: int) -> process.ProcessRef:
    """Start the boot launcher of a host in its own session; return it."""
    cgroup.create(host.cgroup)
    with open(host.host_dir / "console.log", "ab") as log:
        child = subprocess.Popen(
            boot_argv(host, go_fd),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            pass_fds=(go_fd,),
            start_new_session=True,
        )
    return process.ref(child.pid)


def launch(host: SandboxHost) -> SandboxHost:
    """Boot a prepared host: namespaces, network, then systemd as PID 1; return it with PIDs."""
    read_fd, write_fd = os.pipe()
    try:
        launcher = spawn(host, read_fd)
        os.close(read_fd)
        init = process.wait_child(launcher, 10.0)
        network.attach(host.veth, init.pid, host.address)
        os.write(write_fd, b"1")
    finally:
        os.close(write_fd)
    return replace(host, pid=init.pid, pid_start=init.start, launcher_pid=launcher.pid, launcher_start=launcher.start)


def is_running(host: SandboxHost) -> bool:
    """Tell whether the host's recorded init still runs."""
    return host.pid > 0 and process.alive(host.init)


def stop(host: SandboxHost) -> None:
    """Halt the host, kill what is left of it, remove its veth and cgroup."""
    if host.pid > 0:
        process.stop(host.init, HALT, grace=10.0)
    if host.launcher_pid > 0:
        process.stop(host.launcher, signal.SIGTERM, grace=2.0)
    kill_leftovers(host.cgroup)
    network.delete_link(host.veth)


def kill_leftovers(group: Path, timeout: float = 5.0) -> None:
    """SIGKILL whatever still runs in a host's cgroup (only the sandbox puts processes there)."""
    deadline = time.monotonic() + timeout
    while not cgroup.remove(group):
        if time.monotonic() > deadline:
            raise SandboxError(f"cannot remove cgroup {group}: processes remain")
        for pid in cgroup.pids(group):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def nsenter_argv(host: SandboxHost) -> list[str]:
    """Return the nsenter prefix that runs a command in all of a host's namespaces and its root."""
    return ["nsenter", "-t", str(host.pid), "-m", "-u", "-i", "-n", "-p", "-r", "-w", "--"]


def run_in(host: SandboxHost, argv: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[Any]:
    """Run a command inside a host (all its namespaces and its root) via nsenter."""
    if not is_running(host):
        raise SandboxError(f"{host.name} is not running (PID {host.pid} is gone)")
    kw.setdefault("env", HOST_ENV)
    return subprocess.run([*nsenter_argv(host), *argv], **kw)
