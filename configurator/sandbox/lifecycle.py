"""``up`` and ``down``: bring the sandbox to N running hosts, or remove it entirely."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from . import base, capacity, host, keys, layout, network, ownership, placement, proxy, readiness, state, teardown
from .addressing import check_count, host_address, host_name
from .errors import SandboxError
from .inventory import etc_hosts_text, inventory_text
from .light_state import client_parts as light_client_parts
from .light_teardown import leftovers as light_leftovers
from .light_teardown import remove as remove_light
from .releases import checked as checked_releases
from .releases import parse as parse_release
from .state import Sandbox, SandboxHost
from .userspace_delay import down as remove_delay

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


def require_root() -> None:
    """Refuse to run anywhere but on Linux as root."""
    if not sys.platform.startswith("linux"):
        raise SandboxError("the sandbox runs on Linux only")
    if os.geteuid() != 0:
        raise SandboxError("the sandbox needs root (namespaces, bridge, mounts): run it as root")
    for tool in ("unshare", "nsenter", "ip", "nft", "ssh-keygen", "apt-cacher-ng"):
        if shutil.which(tool) is None:
            raise SandboxError(f"{tool} is missing: run scripts/install-system-deps.sh")


def parallel(func: Callable[[T], R], items: Sequence[T]) -> list[R | Exception]:
    """Run ``func`` over ``items`` in threads; return results or the exceptions raised."""

    def guarded(item: T) -> R | Exception:
        try:
            return func(item)
        except Exception as exc:  # noqa: BLE001 - reported per host by the caller
            return exc

    with ThreadPoolExecutor(max_workers=max(1, min(16, len(items)))) as pool:
        return list(pool.map(guarded, items))


def recorded(state_dir: Path) -> Sandbox:
    """Return the sandbox recorded in ``state_dir``, or an empty one."""
    return state.load(state_dir) or state.empty(state_dir)


def running(sandbox: Sandbox) -> tuple[SandboxHost, ...]:
    """Return the recorded hosts whose init still runs."""
    return tuple(h for h in sandbox.hosts if host.is_running(h))


def last_index(hosts: int, kept: Sequence[SandboxHost]) -> int:
    """Return the highest host index ``up`` brings up: it never shrinks the sandbox."""
    return max([hosts, *(h.index for h in kept)])


@dataclass(frozen=True)
class Wanted:
    """What ``up`` was asked for: the host count, releases of named hosts, a release for the rest."""

    hosts: int
    asked: Mapping[str, str]
    default: str | None

    def stale(self, live: Sequence[SandboxHost]) -> list[SandboxHost]:
        """Return the running hosts that run another release than the one asked for."""
        return placement.stale(live, self.asked, self.default, self.hosts)

    def booting(self, live: Sequence[SandboxHost], count: int) -> dict[int, str]:
        """Return index -> release of the hosts 1..count to boot: not running, or running a stale release."""
        kept = {h.index for h in live} - {h.index for h in self.stale(live)}
        return placement.new_releases(kept, count, self.asked, self.default)


def check_room(sandbox: Sandbox, wanted: Wanted) -> None:
    """Refuse, before anything changes, to boot more hosts than this machine can hold."""
    live = running(sandbox)
    replaced, booting = wanted.stale(live), wanted.booting(live, last_index(wanted.hosts, live))
    instances = capacity.cost(booting.values()) - capacity.cost(h.release for h in replaced)
    capacity.check(len(booting) - len(replaced), instances=instances)


def ensure_bases(live: Sequence[SandboxHost], booting: Mapping[int, str]) -> None:
    """Build the base of every release about to boot (never re-tweaking one that hosts run on)."""
    needed = sorted(set(booting.values()))

    def build(release: str) -> Path:
        return base.ensure_base(release, hosts_running=any(h.release == release for h in live))

    # in parallel: a cold cache builds each base with debootstrap, mostly waiting on the mirror
    errors = [str(r) for r in parallel(build, needed) if isinstance(r, Exception)]
    if errors:
        raise SandboxError("; ".join(errors))


def replace_stale(sandbox: Sandbox, wanted: Wanted) -> Sandbox:
    """Stop the hosts that run another release than asked for; they boot again on the right one."""
    stale = wanted.stale(sandbox.hosts)
    for h in stale:
        asked = placement.expected(h, wanted.asked, wanted.default, wanted.hosts)
        log.warning("%s runs %s, %s was asked for: booting it again on %s", h.name, h.release, asked, asked)
        host.stop(h)
    return replace(sandbox, hosts=tuple(h for h in sandbox.hosts if h not in stale))


def recover(sandbox: Sandbox) -> Sandbox:
    """Keep the live hosts of ``sandbox``, clean up after dead ones and stale leftovers."""
    live = running(sandbox)
    for dead in (h for h in sandbox.hosts if h not in live):
        log.info("%s: not running any more; cleaning up", dead.name)
        host.stop(dead)
    for name in network.stale_veths({h.veth for h in live}):
        network.delete_link(name)
    for group in teardown.observed_cgroups():
        if group not in {h.cgroup for h in live}:
            host.kill_leftovers(group)
    return replace(sandbox, hosts=live)


def reconnect(sandbox: Sandbox) -> Sandbox:
    """Re-attach running hosts to the bridge; stop the ones whose veth vanished."""
    kept = []
    for h in sandbox.hosts:
        if network.reconnect(h.veth):
            kept.append(h)
        else:
            log.info("%s: its veth %s is gone; booting it again", h.name, h.veth)
            host.stop(h)
    return replace(sandbox, hosts=tuple(kept))


def host_pairs(count: int) -> list[tuple[str, str]]:
    """Return (name, address) of hosts 1..count."""
    return [(host_name(i), host_address(i)) for i in range(1, count + 1)]


def start_hosts(sandbox: Sandbox, count: int, client_key: str, booting: Mapping[int, str]) -> Sandbox:
    """Prepare and launch the hosts of ``booting`` (index -> release), which do not run yet; record them."""
    new = [host.planned(i, sandbox.state_dir / "hosts", release) for i, release in sorted(booting.items())]
    etc_hosts = etc_hosts_text(host_pairs(count))

    def boot(planned: SandboxHost) -> SandboxHost:
        host.prepare(planned, client_key, etc_hosts)
        return host.launch(planned)

    results = parallel(boot, new)
    started = [r for r in results if isinstance(r, SandboxHost)]
    hosts = tuple(sorted((*sandbox.hosts, *started), key=lambda h: h.index))
    sandbox = replace(sandbox, hosts=hosts)
    state.save(sandbox)
    errors = [f"{p.name}: {r}" for p, r in zip(new, results, strict=True) if isinstance(r, Exception)]
    if errors:
        raise SandboxError("booting failed: " + "; ".join(errors))
    return sandbox


def wait_all(sandbox: Sandbox) -> None:
    """Wait until every host answers SSH and systemd is up; log degraded units."""
    results = parallel(readiness.wait_ready, sandbox.hosts)
    errors = [str(r) for r in results if isinstance(r, Exception)]
    if errors:
        raise SandboxError("; ".join(errors))
    for h, result in zip(sandbox.hosts, results, strict=True):
        if result == "degraded":
            log.warning("%s: degraded (failed: %s)", h.name, ", ".join(readiness.failed_units(h)))


def refresh_etc_hosts(hosts: Sequence[SandboxHost], count: int) -> None:
    """Rewrite /etc/hosts in hosts that were booted with a shorter host list."""
    text = etc_hosts_text(host_pairs(count))
    for h in hosts:
        host.run_in(h, ["tee", "/etc/hosts"], input=text, text=True, stdout=subprocess.DEVNULL, check=True)


def write_client_files(sandbox: Sandbox) -> None:
    """Write known_hosts and inventory.yml for the running hosts, the light hosts included."""
    entries = [(h.name, h.address, keys.host_public_key(host.upper(h))) for h in sandbox.hosts]
    light_keys, light_lines = light_client_parts(sandbox.state_dir)
    state.write_atomic(sandbox.known_hosts, keys.known_hosts_text(entries) + light_keys)
    pairs = [(h.name, h.address) for h in sandbox.hosts]
    text = inventory_text(pairs, sandbox.key_path, sandbox.known_hosts, light_lines)
    state.write_atomic(sandbox.inventory_path, text)


def up(
    hosts: int = 3,
    state_dir: Path | None = None,
    releases: Mapping[str, str] | None = None,
    release: str | None = None,
) -> Sandbox:
    """Bring the sandbox to at least ``hosts`` running hosts and return it.

    ``releases`` maps host names to the Debian release they run; ``release`` is the one of hosts
    1..hosts not named there (None: running hosts keep theirs, new ones boot bookworm).  A running
    host of another release than asked for is stopped and booted again on the right one.
    """
    require_root()
    check_count(hosts)
    default = None if release is None else parse_release(release)
    wanted = Wanted(hosts, checked_releases(releases), default)
    directory = layout.state_dir(state_dir)
    with ownership.machine_lock():
        found = recorded(directory)
        check_room(found, wanted)
        ownership.claim(directory)
        sandbox = recover(found)
        client_key = keys.ensure_client_key(sandbox.key_path)
        network.ensure_bridge()
        network.install_guard()
        sandbox = reconnect(sandbox)
        sandbox = replace(sandbox, proxy=proxy.ensure(sandbox.proxy))
        state.save(sandbox)
        sandbox = boot_wanted(sandbox, wanted, client_key)
    return sandbox


def boot_wanted(sandbox: Sandbox, wanted: Wanted, client_key: str) -> Sandbox:
    """Build the bases needed, boot again the hosts of a stale release, boot the missing ones, wait."""
    count = last_index(wanted.hosts, sandbox.hosts)
    booting = wanted.booting(sandbox.hosts, count)
    ensure_bases(sandbox.hosts, booting)
    sandbox = replace_stale(sandbox, wanted)
    kept = sandbox.hosts
    sandbox = start_hosts(sandbox, count, client_key, booting)
    write_client_files(sandbox)
    wait_all(sandbox)
    if len(kept) < len(sandbox.hosts):
        refresh_etc_hosts(kept, count)
    return sandbox


def down(state_dir: Path | None = None) -> None:
    """Stop every host and the proxy and remove all the sandbox made, except the caches."""
    require_root()
    directory = layout.state_dir(state_dir)
    with ownership.machine_lock():
        ownership.refuse_foreign(directory)
        light = remove_light(directory)
        remove_delay(directory)  # the delay rules live in the machine's namespace, not the hosts'
        plan = teardown.observed_plan(recorded(directory))
        teardown.execute(plan)
        ownership.release(directory)
        remaining = teardown.leftovers(plan) + light_leftovers(directory, light)
    if remaining:
        raise SandboxError("down left behind: " + ", ".join(remaining))


def load(state_dir: Path | None = None) -> Sandbox | None:
    """Return the recorded sandbox, or None when there is none."""
    return state.load(layout.state_dir(state_dir))
