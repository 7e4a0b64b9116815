"""Latency on demand: tc netem on both ends of each host's veth, so that both directions wait as on a WAN.

netem delays only what leaves an interface. The machine's end of the veth (cfgv-nodeN, on the bridge)
delays what goes to the host; the host's own eth0, inside its network namespace, delays what the host
sends. With `--delay 50ms` a packet waits 50 ms each way: a round trip takes 100 ms more, as between two
datacenters 50 ms apart. Jitter and loss apply to each direction on its own too. On a kernel without the
netem qdisc, delay.py takes the userspace path instead (userspace_delay.py); this module still parses the
command line's durations and percentages for both.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import delay_netns
from .errors import SandboxError
from .host import is_running
from .state import SandboxHost

_TIME = re.compile(r"(\d+(?:\.\d+)?)(us|ms|s)")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)%?")
_SCALE = {"us": 0.001, "ms": 1.0, "s": 1000.0}
_SHOWN = re.compile(r"qdisc netem \S+ root(?: refcnt \d+)?\s*(.*)")  # tc's words after the handle


class Unsupported(SandboxError):
    """The kernel has no netem qdisc (CONFIG_NET_SCH_NETEM is off): no delay can be set here."""


@dataclass(frozen=True)
class Netem:
    """A delay (ms) each way, its jitter (ms) and the share of packets lost (%) each way."""

    delay: float
    jitter: float = 0.0
    loss: float = 0.0

    def args(self) -> list[str]:
        """The netem part of a `tc qdisc` command line."""
        found = ["delay", f"{self.delay:g}ms"] + ([f"{self.jitter:g}ms"] if self.jitter else [])
        return found + (["loss", f"{self.loss:g}%"] if self.loss else [])

    def describe(self) -> str:
        """`netem delay 50ms jitter 5ms loss 0.1%` (each way)."""
        text = f"netem delay {self.delay:g}ms" + (f" jitter {self.jitter:g}ms" if self.jitter else "")
        return text + (f" loss {self.loss:g}%" if self.loss else "")


def milliseconds(text: str) -> float:
    """`50ms`, `0.2s`, `500us` (a bare number is milliseconds) as milliseconds."""
    found = _TIME.fullmatch(text.strip()) or re.fullmatch(r"(\d+(?:\.\d+)?)()", text.strip())
    if found is None:
        raise SandboxError(f"not a duration: {text!r} (e.g. 50ms, 0.1s)")
    return float(found[1]) * _SCALE.get(found[2], 1.0)


def percent(text: str) -> float:
    """`0.1%` (or `0.1`) as a percentage between 0 and 100."""
    found = _PERCENT.fullmatch(text.strip())
    if found is None or not 0 <= float(found[1]) <= 100:
        raise SandboxError(f"not a percentage between 0 and 100: {text!r} (e.g. 0.1%)")
    return float(found[1])


def parse_qdiscs(text: str) -> str:
    """The netem settings in `tc qdisc show dev X` output, in tc's own words (empty when there is none)."""
    for line in text.splitlines():
        found = _SHOWN.match(line.strip())
        if found:
            return " ".join(found[1].split())
    return ""


def set_argv(device: str, netem: Netem | None) -> list[str]:
    """The tc command that puts `netem` on a device (or removes the device's root qdisc when None)."""
    if netem is None:
        return ["tc", "qdisc", "del", "dev", device, "root"]
    return ["tc", "qdisc", "replace", "dev", device, "root", "netem", *netem.args()]


def _run(argv: Sequence[str], clearing: bool) -> str:
    result = subprocess.run(list(argv), capture_output=True, text=True)
    # deleting a qdisc that is not there is what --clear wants: nothing to undo
    gone = clearing and ("No such file" in result.stderr or "handle of zero" in result.stderr)
    if "qdisc kind is unknown" in result.stderr:
        raise Unsupported("this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM is off); "
                          "`sandbox netem` needs a kernel built with it")
    if result.returncode != 0 and not gone:
        raise SandboxError(f"{' '.join(argv)}: {result.stderr.strip()}")
    return result.stdout


def apply(hosts: Sequence[SandboxHost], netem: Netem | None) -> None:
    """Put `netem` on both ends of each host's link (None: take off a netem, and only a netem, that is there)."""
    for host in hosts:
        _set([], host.veth, netem)
        _set(delay_netns.nsenter(host.pid), "eth0", netem)


def _set(prefix: list[str], device: str, netem: Netem | None) -> None:
    if netem is not None:
        _run([*prefix, *set_argv(device, netem)], False)
    elif parse_qdiscs(_run([*prefix, "tc", "qdisc", "show", "dev", device], False)):
        _run([*prefix, *set_argv(device, None)], True)


def shown(host: SandboxHost) -> str:
    """What `sandbox status` shows of a host's link: its netem each way (as tc says it), or nothing."""
    to_host = parse_qdiscs(_run(["tc", "qdisc", "show", "dev", host.veth], False))
    from_host = parse_qdiscs(_run([*delay_netns.nsenter(host.pid), "tc", "qdisc", "show", "dev", "eth0"], False))
    if not to_host and not from_host:
        return ""
    if to_host == from_host:
        return f"netem {to_host} each way"
    return f"netem to the host: {to_host or 'none'}; from the host: {from_host or 'none'}"


def chosen(all_hosts: Sequence[SandboxHost], names: str | None,
           running: Callable[[SandboxHost], bool] = is_running) -> list[SandboxHost]:
    """The hosts `--hosts node1,node2` names (each must run), or every running host when None."""
    if not names:
        return [h for h in all_hosts if running(h)]
    by_name = {h.name: h for h in all_hosts}
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in by_name]
    if unknown or not wanted:
        raise SandboxError(f"no sandbox host named {', '.join(unknown) or repr(names)}")
    stopped = [n for n in wanted if not running(by_name[n])]
    if stopped:
        raise SandboxError(f"not running: {', '.join(stopped)} (configure sandbox up boots it again)")
    return [by_name[n] for n in wanted]
