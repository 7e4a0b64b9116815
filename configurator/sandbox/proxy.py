"""The package proxy: an apt-cacher-ng process bound to the gateway address of the bridge."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from . import process
from .errors import SandboxError
from .layout import GATEWAY, MIRROR, PROXY_DIR, PROXY_PORT, SECURITY_MIRROR
from .process import ProcessRef

SUPPORT_DIR = "/usr/lib/apt-cacher-ng"


def config_text(root: Path = PROXY_DIR) -> str:
    """Return acng.conf for a proxy whose config, cache and logs live under ``root``."""
    security = SECURITY_MIRROR.removeprefix("http://")
    return (
        "\n".join(
            [
                f"CacheDir: {root / 'cache'}",
                f"LogDir: {root / 'log'}",
                f"SupportDir: {SUPPORT_DIR}",
                f"SocketPath: {root / 'run' / 'socket'}",
                f"Port: {PROXY_PORT}",
                f"BindAddress: {GATEWAY}",
                "ForeGround: 1",
                "Remap-debrep: file:deb_mirror*.gz /debian ; file:backends_debian",
                f"Remap-secdeb: security.debian.org {security} /debian-security ; {security}",
                "ReportPage: acng-report.html",
                "ExThreshold: 4",
            ]
        )
        + "\n"
    )


def write_config(root: Path = PROXY_DIR) -> Path:
    """Write the proxy's configuration directory and return it."""
    conf = root / "conf"
    for sub in ("conf", "cache", "log", "run"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (conf / "acng.conf").write_text(config_text(root))
    (conf / "backends_debian").write_text(MIRROR + "/\n")
    return conf


def answers(timeout: float = 0.2) -> bool:
    """Tell whether something accepts connections on the proxy address."""
    try:
        with socket.create_connection((GATEWAY, PROXY_PORT), timeout=timeout):
            return True
    except OSError:
        return False


def start(root: Path = PROXY_DIR) -> ProcessRef:
    """Start apt-cacher-ng in the foreground of its own session and wait until it listens."""
    if answers():
        raise SandboxError(f"port {GATEWAY}:{PROXY_PORT} is taken by a process not started here")
    conf = write_config(root)
    log = open(root / "log" / "daemon.out", "ab")  # noqa: SIM115 - handed to the child
    with log:
        child = subprocess.Popen(
            ["apt-cacher-ng", "-c", str(conf)], stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    proc = process.ref(child.pid)
    deadline = time.monotonic() + 10
    while not answers():
        if child.poll() is not None or time.monotonic() > deadline:
            process.stop(proc)
            raise SandboxError(f"apt-cacher-ng did not start; see {root / 'log'}")
        time.sleep(0.05)
    return proc


def ensure(previous: ProcessRef | None, root: Path = PROXY_DIR) -> ProcessRef:
    """Keep the recorded proxy if it still runs and answers, else start a new one."""
    if previous is not None and process.alive(previous):
        if answers(1.0):
            return previous
        process.stop(previous)
    return start(root)


def stop(proc: ProcessRef | None) -> None:
    """Stop the recorded proxy process."""
    if proc is not None:
        process.stop(proc)
