"""``status``: ask each recorded host over a real SSH connection how its systemd is doing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import paramiko

from . import layout, state
from .state import Sandbox, SandboxHost

CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class HostStatus:
    """What one host answered: reachable over SSH, and ``systemctl is-system-running``."""

    name: str
    address: str
    ssh: bool
    system_state: str
    error: str = ""


def connect(sandbox: Sandbox, host: SandboxHost) -> paramiko.SSHClient:
    """Open an SSH connection as root with the sandbox key and strict host-key checking."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(sandbox.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        host.address,
        username="root",
        key_filename=str(sandbox.key_path),
        look_for_keys=False,
        allow_agent=False,
        timeout=CONNECT_TIMEOUT,
        banner_timeout=CONNECT_TIMEOUT,
        auth_timeout=CONNECT_TIMEOUT,
    )
    return client


def probe(sandbox: Sandbox, host: SandboxHost) -> HostStatus:
    """Connect to one host and read its systemd state."""
    try:
        client = connect(sandbox, host)
    except (OSError, paramiko.SSHException) as exc:
        return HostStatus(host.name, host.address, False, "unknown", str(exc) or type(exc).__name__)
    with client:
        _, stdout, _ = client.exec_command("systemctl is-system-running", timeout=10)
        answer = stdout.read().decode().strip() or "unknown"
    return HostStatus(host.name, host.address, True, answer)


def status(state_dir: Path | None = None) -> list[HostStatus]:
    """Return the status of every recorded host (empty when no sandbox is recorded)."""
    sandbox = state.load(layout.state_dir(state_dir))
    if sandbox is None or not sandbox.hosts:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(sandbox.hosts))) as pool:
        return list(pool.map(lambda h: probe(sandbox, h), sandbox.hosts))
