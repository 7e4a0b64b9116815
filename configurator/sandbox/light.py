"""Light hosts: sshd alone, without systemd, each in its own pid/mount/uts/ipc namespaces.

Each light host has its own seed tree (host key, authorized_keys, hostname) layered over the
shared read-only base, with a tmpfs for everything it writes; its sshd runs as PID 1 of its own
PID namespace in the network namespace of its slot (light_layout.py says which address and port).
Services are not available on them; files, users, directories and the package probe are.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import cgroup, host, network, process
from .errors import SandboxError
from .inventory import etc_hosts_text
from .layout import BRIDGE
from .lifecycle import parallel
from .light_layout import LightPlace, places, slot_address
from .light_state import LightHost, light_dir, seed_dir, seed_tree
from .light_teardown import cgroup_dir, netns_path
from .releases import DEFAULT, base_dir
from .state import SandboxHost

BOOT_SCRIPT = Path(__file__).with_name("light_boot.py")
JOIN_CGROUP = 'echo 0 > "$0" && exec "$@"'


def ensure_slot(slot: int, netns: str, link: str) -> None:
    """Create the network namespace of ``slot`` with its veth on the bridge (idempotent)."""
    if netns_path(netns).exists():
        network.ip("link", "set", link, "master", BRIDGE, "up")
        return
    network.ip("netns", "add", netns)
    network.delete_link(link)
    network.ip("link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", netns)
    network.ip("link", "set", link, "master", BRIDGE, "up")
    network.ip("-n", netns, "-batch", "-", stdin=network.host_commands(slot_address(slot)))


def seed(state_dir: Path, place: LightPlace, client_key: str) -> None:
    """Write the host's own files (host key, login key, hostname) into its fresh seed tree."""
    # a full host's per-host files are exactly these: its upper directory becomes the seed tree
    seeded = SandboxHost(place.name, place.address, 0, "", place.index, host_dir=seed_dir(state_dir, place.name))
    host.prepare(seeded, client_key, etc_hosts_text([(place.name, place.address)]))


def boot_argv(state_dir: Path, place: LightPlace) -> list[str]:
    """Return the command that boots a light host: join the cgroup, enter its netns, unshare, boot."""
    lower = f"{seed_tree(state_dir, place.name)}:{base_dir(DEFAULT)}"
    argv = ["sh", "-c", JOIN_CGROUP, str(cgroup_dir() / "cgroup.procs")]
    argv += ["nsenter", f"--net={netns_path(place.netns)}", "--"]
    argv += ["unshare", "--pid", "--mount", "--uts", "--ipc", "--fork", "--propagation", "private", "--"]
    argv += [sys.executable, "-I", str(BOOT_SCRIPT), f"--top={light_dir(state_dir) / 'mnt'}"]
    return argv + [f"--lower={lower}", f"--hostname={place.name}", f"--port={place.port}"]


def launch(state_dir: Path, place: LightPlace) -> LightHost:
    """Start one seeded light host; return it with its PIDs."""
    log_path = seed_dir(state_dir, place.name) / "console.log"
    with open(log_path, "ab") as log:
        child = subprocess.Popen(
            boot_argv(state_dir, place),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    launcher = process.ref(child.pid)
    init = process.wait_child(launcher, 10.0)
    return LightHost(
        place.name, place.index, place.address, place.port, place.slot,
        init.pid, init.start, launcher.pid, launcher.start,
    )  # fmt: skip


def banner(address: str, port: int, timeout: float = 1.0) -> bool:
    """Tell whether an SSH server answers with its banner at address:port."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as conn:
            return conn.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def wait_ready(light: LightHost, timeout: float = 60.0) -> None:
    """Wait until the host's sshd answers; fail early if it died."""
    deadline = time.monotonic() + timeout
    while not banner(light.address, light.port):
        if not process.alive(light.init):
            raise SandboxError(f"{light.name} stopped while booting (see its console.log)")
        if time.monotonic() > deadline:
            raise SandboxError(f"{light.name} ({light.address}:{light.port}) does not answer SSH")
        time.sleep(0.05)


def boot(state_dir: Path, wanted: Sequence[LightPlace], client_key: str) -> list[LightHost]:
    """Seed and launch the hosts of ``wanted`` and wait until each answers SSH."""
    cgroup.create(cgroup_dir())
    (light_dir(state_dir) / "mnt").mkdir(parents=True, exist_ok=True)
    for slot in sorted({(p.slot, p.netns, p.link) for p in wanted}):
        ensure_slot(*slot)

    def start(place: LightPlace) -> LightHost:
        seed(state_dir, place, client_key)
        return launch(state_dir, place)

    results = parallel(start, wanted)
    started = [r for r in results if isinstance(r, LightHost)]
    errors = [f"{p.name}: {r}" for p, r in zip(wanted, results, strict=True) if isinstance(r, Exception)]
    waited = parallel(wait_ready, started)
    errors += [str(r) for r in waited if isinstance(r, Exception)]
    if errors:
        raise BootFailed(started, "light hosts failed to boot: " + "; ".join(errors[:5]))
    return started


class BootFailed(SandboxError):
    """Some light hosts did not boot; ``started`` are those that were launched (to record or stop)."""

    def __init__(self, started: Sequence[LightHost], message: str) -> None:
        super().__init__(message)
        self.started = tuple(started)


def missing(recorded: Sequence[LightHost], count: int) -> list[LightPlace]:
    """Return the places of light hosts 1..count that no running recorded host holds."""
    alive = {h.index for h in recorded if process.alive(h.init)}
    return [p for p in places(count) if p.index not in alive]


def running(recorded: Sequence[LightHost]) -> tuple[LightHost, ...]:
    """Return the recorded light hosts whose sshd still runs."""
    return tuple(h for h in recorded if process.alive(h.init))


def pss_kib() -> int:
    """Return the proportional set size (KiB) of every light host's processes."""
    return cgroup.pss_kib(cgroup_dir())

