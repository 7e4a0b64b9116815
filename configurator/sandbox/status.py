"""``status``: ask each recorded host over a real SSH connection how its systemd is doing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import paramiko

from . import layout, light_state, state
from .light_state import LightHost
from .releases import DEFAULT
from .state import Sandbox, SandboxHost

CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class HostStatus:
    """What one host answered: reachable over SSH, ``systemctl is-system-running`` and its release.

    ``release`` is what the host's /etc/os-release says, or the recorded one when it does not answer.
    """

    name: str
    address: str
    ssh: bool
    system_state: str
    error: str = ""
    release: str = ""
    kind: str = "full"  # or "light": sshd without systemd (light.py)


# one round trip: the systemd state, then the release the host itself reports
QUERY = 'systemctl is-system-running; . /etc/os-release && echo "$VERSION_CODENAME"'


def parse_answer(text: str, recorded: str) -> tuple[str, str]:
    """Return (systemd state, release) from the answer to QUERY; the recorded release if none is given."""
    lines = [line.strip() for line in text.splitlines()]
    state = lines[0] if lines and lines[0] else "unknown"
    release = lines[1] if len(lines) > 1 and lines[1] else recorded
    return state, release


def connect(sandbox: Sandbox, address: str, port: int = 22) -> paramiko.SSHClient:
    """Open an SSH connection as root with the sandbox key and strict host-key checking."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(sandbox.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        address,
        port=port,
        username="root",
        key_filename=str(sandbox.key_path),
        look_for_keys=False,
        allow_agent=False,
        timeout=CONNECT_TIMEOUT,
        banner_timeout=CONNECT_TIMEOUT,
        auth_timeout=CONNECT_TIMEOUT,
    )
    return client


def probe(sandbox: Sandbox, host: SandboxHost | LightHost) -> HostStatus:
    """Connect to one host and read its systemd state ("offline" on a light host) and release."""
    release, port = (DEFAULT, host.port) if isinstance(host, LightHost) else (host.release, 22)
    kind = "light" if isinstance(host, LightHost) else "full"
    try:
        client = connect(sandbox, host.address, port)
    except (OSError, paramiko.SSHException) as exc:
        error = str(exc) or type(exc).__name__
        return HostStatus(host.name, host.address, False, "unknown", error, release, kind)
    with client:
        _, stdout, _ = client.exec_command(QUERY, timeout=10)
        answer, release = parse_answer(stdout.read().decode(), release)
    return HostStatus(host.name, host.address, True, answer, release=release, kind=kind)


def status(state_dir: Path | None = None) -> list[HostStatus]:
    """Return the status of every recorded host (empty when no sandbox is recorded)."""
    directory = layout.state_dir(state_dir)
    sandbox = state.load(directory) or state.empty(directory)
    hosts = (*sandbox.hosts, *light_state.load(directory))
    if not hosts:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(hosts))) as pool:
        return list(pool.map(lambda h: probe(sandbox, h), hosts))
