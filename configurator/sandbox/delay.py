"""What `sandbox netem` puts on a host's link: tc netem where the kernel has the qdisc, else the userspace delay.

Both give the controller the same thing: each packet between this machine and a delayed host waits the
delay (± jitter) each way and is lost with the given share each way (netem.py, userspace_delay.py).
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from . import netem, userspace_delay
from .errors import SandboxError
from .netem import Netem
from .state import Sandbox, SandboxHost

# a qdisc on the loopback of a network namespace made for the probe and gone with it
PROBE = ["unshare", "--net", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"]


def kernel_has_netem() -> bool:
    """Whether tc can make a netem qdisc here (CONFIG_NET_SCH_NETEM), tried where it changes nothing."""
    done = subprocess.run(PROBE, capture_output=True, text=True, timeout=30)
    if done.returncode == 0:
        return True
    if "kind is unknown" in done.stderr:
        return False
    raise SandboxError(f"{' '.join(PROBE)}: {done.stderr.strip()}")


def apply(state_dir: Path, hosts: Sequence[SandboxHost], spec: Netem | None) -> str:
    """Set `spec` on the hosts' links (None: take any delay off them); return what was done, in a line."""
    names = ", ".join(h.name for h in hosts)
    if spec is None:
        netem.apply(hosts, None)
        userspace_delay.clear(state_dir, hosts)
        return f"no netem on {names}"
    if kernel_has_netem():
        netem.apply(hosts, spec)
        return f"{spec.describe()} each way on {names}"
    others = userspace_delay.apply(state_dir, hosts, spec)
    also = f"; the one userspace setting now applies to {len(others)} other host(s) too" if others else ""
    return f"{spec.describe()} each way (userspace) on {names}{also}"


def columns(sandbox: Sandbox) -> dict[str, str]:
    """Each delayed host's delay as `sandbox status` shows it, by host name."""
    userspace = userspace_delay.shown(sandbox.state_dir)
    found = {}
    for host in sandbox.hosts:
        try:
            text = netem.shown(host) or userspace.get(host.address, "")
        except SandboxError:  # a host that stopped has no link to read
            text = userspace.get(host.address, "")
        if text:
            found[host.name] = text
    return found
