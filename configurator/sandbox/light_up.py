"""``up --light`` and ``down --light``: light hosts next to the full ones, or removing only them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from . import base, keys, layout, lifecycle, light, light_state, light_teardown, network, ownership, process
from .errors import SandboxError
from .light_layout import check_count
from .light_state import LightHost
from .releases import DEFAULT


@dataclass(frozen=True)
class LightUp:
    """What ``up_light`` did: the light hosts now running and how many of them it booted."""

    hosts: tuple[LightHost, ...]
    booted: int
    inventory: Path
    seconds: float = 0.0  # booting them, from seeding to every new sshd answering
    waited: float = 0.0  # for the machine-wide sandbox lock, which test sessions hold while they boot


def up_light(count: int, state_dir: Path | None = None) -> LightUp:
    """Bring the light hosts to at least light1..light``count``, running; never touches the full hosts."""
    lifecycle.require_root()
    check_count(count)
    directory = layout.state_dir(state_dir)
    asked = time.monotonic()
    with ownership.machine_lock():
        locked = time.monotonic()
        ownership.claim(directory)
        sandbox = lifecycle.recorded(directory)
        client_key = keys.ensure_client_key(sandbox.key_path)
        network.ensure_bridge()
        network.install_guard()
        base.ensure_base(DEFAULT, hosts_running=True)
        recorded = light_state.load(directory)
        for dead in (h for h in recorded if not process.alive(h.init)):
            light_teardown.stop(dead)
        kept = light.running(recorded)
        try:
            started = light.boot(directory, light.missing(kept, count), client_key)
        except light.BootFailed as exc:
            light_state.save(directory, (*kept, *exc.started))
            lifecycle.write_client_files(sandbox)
            raise
        light_state.save(directory, (*kept, *started))
        lifecycle.write_client_files(sandbox)
        booted = time.monotonic()
    hosts = light_state.load(directory)
    return LightUp(hosts, len(started), sandbox.inventory_path, booted - locked, locked - asked)


def down_light(state_dir: Path | None = None) -> None:
    """Remove only the light hosts (the full hosts, the bridge and the proxy stay); rewrite the inventory."""
    lifecycle.require_root()
    directory = layout.state_dir(state_dir)
    with ownership.machine_lock():
        recorded = light_teardown.remove(directory)
        lifecycle.write_client_files(lifecycle.recorded(directory))
        remaining = light_teardown.leftovers(directory, recorded)
    if remaining:
        raise SandboxError("removing the light hosts left behind: " + ", ".join(remaining))
