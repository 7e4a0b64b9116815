"""Waiting for a booted host: sshd answering and systemd finished starting."""

from __future__ import annotations

import socket
import subprocess
import time

from .errors import SandboxError
from .host import is_running, run_in
from .state import SandboxHost


def ssh_banner(address: str, timeout: float = 1.0) -> str | None:
    """Return the SSH banner the host sends on port 22, or None."""
    try:
        with socket.create_connection((address, 22), timeout=timeout) as conn:
            return conn.recv(256).decode("ascii", "replace").strip() or None
    except OSError:
        return None


def console_tail(host: SandboxHost, lines: int = 3) -> str:
    """Return the last lines of the host's console log."""
    try:
        text = (host.host_dir / "console.log").read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return " | ".join(text.strip().splitlines()[-lines:])


def wait_ssh(host: SandboxHost, deadline: float) -> None:
    """Wait until the host's sshd sends its banner; fail early if its init died."""
    while not (ssh_banner(host.address) or "").startswith("SSH-"):
        if not is_running(host):
            raise SandboxError(f"{host.name} stopped while booting: {console_tail(host)}")
        if time.monotonic() > deadline:
            raise SandboxError(f"{host.name} ({host.address}) does not answer SSH")
        time.sleep(0.05)


def failed_units(host: SandboxHost) -> list[str]:
    """Return the names of the host's failed units."""
    argv = ["systemctl", "--failed", "--plain", "--no-legend", "--no-pager"]
    result = run_in(host, argv, capture_output=True, text=True, timeout=30)
    return [line.split()[0] for line in result.stdout.splitlines() if line.strip()]


def system_state(host: SandboxHost, wait: float = 0.0) -> str:
    """Return ``systemctl is-system-running``, waiting up to ``wait`` seconds for boot to end."""
    argv = ["systemctl", "is-system-running"] + (["--wait"] if wait else [])
    try:
        result = run_in(host, argv, capture_output=True, text=True, timeout=max(wait, 10.0))
    except subprocess.TimeoutExpired:
        return "starting"
    return result.stdout.strip() or "unknown"


def wait_ready(host: SandboxHost, timeout: float = 60.0) -> str:
    """Wait for SSH and for systemd to be running or degraded; return that state."""
    deadline = time.monotonic() + timeout
    wait_ssh(host, deadline)
    state = system_state(host, wait=max(1.0, deadline - time.monotonic()))
    if state not in ("running", "degraded"):
        raise SandboxError(f"{host.name}: systemd is {state!r} after {timeout:.0f} s")
    return state
