"""Rebooting sandbox hosts: what a hypervisor does when a machine reboots.

A host's systemd is PID 1 of its own PID namespace, so `systemctl reboot` ends it, and with it the
namespaces, the mounts and the veth (measured: gone within a second). Nothing else starts it again:
`up` would boot a fresh host in its place (a new disk and host key). `boot_again` boots the same
host instead: its overlay upper directory (its disk) is kept, /run and /tmp start empty, the
address and host key stay. `Watch` does it for a set of hosts as soon as their systemd exits; it
holds the machine's sandbox lock meanwhile, so that no `up` (every test session runs one) takes a
rebooting host for a dead one and boots a fresh one, with a new disk, in its place.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import replace

from . import host, network, ownership, state
from .errors import SandboxError
from .state import Sandbox, SandboxHost


def boot_again(sandbox: Sandbox, gone: SandboxHost) -> SandboxHost:
    """Boot a host whose systemd exited, on its own disk; record and return it as soon as its systemd
    runs (whoever waits for it waits for SSH: readiness.wait_ready)."""
    if host.is_running(gone):
        raise SandboxError(f"{gone.name} is still running (PID {gone.pid})")
    host.kill_leftovers(gone.cgroup)
    network.delete_link(gone.veth)
    again = host.launch(gone)
    record(sandbox, again)
    return again


def record(sandbox: Sandbox, again: SandboxHost) -> None:
    """state.json with `again` in place of its earlier record (read afresh: other runs write it too)."""
    current = state.load(sandbox.state_dir) or sandbox
    hosts = tuple(again if h.name == again.name else h for h in current.hosts)
    state.save(replace(current, hosts=hosts))


class Watch:
    """Boots again, on its own disk, each watched host whose systemd exits, until stopped."""

    def __init__(self, sandbox: Sandbox, names: Sequence[str],
                 booted: Callable[[SandboxHost], None] = lambda h: None, interval: float = 0.2) -> None:
        self.sandbox, self.names, self.booted, self.interval = sandbox, names, booted, interval
        self.hosts: dict[str, SandboxHost] = {}
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="sandbox-power", daemon=True)
        self.held = ExitStack()

    def __enter__(self) -> Watch:
        self.held.enter_context(ownership.machine_lock())
        current = state.load(self.sandbox.state_dir) or self.sandbox  # the records as they are now
        self.hosts = {n: current.host(n) for n in self.names}
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=120)
        self.held.close()

    def current(self, name: str) -> SandboxHost:
        """The host's latest record (new PIDs after each reboot)."""
        return self.hosts[name]

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            for name, seen in list(self.hosts.items()):
                if not host.is_running(seen):
                    self._boot(name, seen)

    def _boot(self, name: str, seen: SandboxHost) -> None:
        time.sleep(0.5)  # let the kernel finish tearing the old namespaces down
        try:
            self.hosts[name] = boot_again(self.sandbox, seen)
        except (SandboxError, OSError) as exc:
            self.errors.append(f"{name}: {exc}")
            self.stop.set()
            return
        self.booted(self.hosts[name])
