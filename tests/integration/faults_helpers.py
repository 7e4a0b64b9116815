"""Helpers for fault tests: inventories with chosen addresses and ssh settings, host process control."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from configurator.sandbox import Sandbox, SandboxHost
from configurator.sandbox.host import nsenter_argv
from tests.integration.engine_helpers import ssh_settings

HERE = Path(__file__).resolve().parent


def inventory(sandbox: Sandbox, path: Path, hosts: dict[str, dict[str, Any]], **ssh: Any) -> Path:
    """An inventory with the faults_demo role on `hosts` (name -> host keys such as address/port)."""
    data = {
        "ssh": ssh_settings(sandbox, 3, **ssh),
        "roles_path": [str(HERE / "roles")],
        "hosts": hosts,
        "groups": {"faults": {"hosts": list(hosts), "roles": ["faults_demo"]}},
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def address_of(sandbox: Sandbox, name: str) -> dict[str, Any]:
    return {"address": sandbox.host(name).address}


class Background:
    """A command left running inside a host; `stop()` ends it and its children, by PID."""

    def __init__(self, host: SandboxHost, argv: list[str]) -> None:
        self.proc = subprocess.Popen([*nsenter_argv(host), *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        # nsenter forks into the host's PID namespace: end the children first, then nsenter
        for pid in reversed(_descendants(self.proc.pid)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.running():
            self.proc.kill()
        self.proc.wait()


def background(host: SandboxHost, argv: list[str]) -> Background:
    """Start a command inside a host and leave it running."""
    return Background(host, argv)


def wait_for(predicate: Any, seconds: float = 20.0) -> None:
    """Poll until `predicate()` is true (a bounded wait, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {seconds}s")
        time.sleep(0.05)


def _descendants(root: int) -> list[int]:
    """Machine PIDs of every process below `root` (the host's init), read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def _cmdlines(host: SandboxHost) -> dict[int, str]:
    """Machine PID -> command line of every process in the host, as /proc shows them to anyone on it."""
    found = {}
    for pid in _descendants(host.pid):
        try:
            found[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
    return found


def session_pids(host: SandboxHost) -> list[int]:
    """Machine PIDs of the host's sshd processes serving sessions (not the listener)."""
    return [pid for pid, args in _cmdlines(host).items()
            if args.startswith("sshd:") and "root" in args and "listener" not in args]


def kill_sessions(host: SandboxHost) -> int:
    """SIGKILL every SSH session process of the host (processes this test started); return how many."""
    pids = session_pids(host)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(pids)


def host_cmdlines(host: SandboxHost) -> list[str]:
    """Command lines of every process in the host, as /proc shows them to anyone on it."""
    return list(_cmdlines(host).values())


def netns_nft(host: SandboxHost, *rule: str) -> None:
    """Run nft inside the host's network namespace only (the machine's rules are untouched)."""
    subprocess.run(["nsenter", f"--net=/proc/{host.pid}/ns/net", "nft", *rule], check=True)
