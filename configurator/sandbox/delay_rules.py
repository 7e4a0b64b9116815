"""The iptables rules that send a delayed host's packets to the userspace delay (chain CFG-NETEM, table raw).

In the machine's own network namespace, raw PREROUTING jumps to CFG-NETEM, which holds two rules per
delayed host: what it sends to this machine (`-s ADDR`, to a local address) and what reaches it through
PREROUTING (`-d ADDR`). What this machine's own sockets send to a host is held in the HOST's namespace
instead, in its own CFG-NETEM (raw PREROUTING, from the gateway on eth0): held in the machine's OUTPUT, a
packet still belongs to its socket, and TCP Small Queues let a socket have only ~2 packets below it, so
a push to the host ran at ~2 packets per delay (55 kB/s at 50 ms). Across the veth a packet is orphaned
and holding it no longer throttles the sender. Both go to NFQUEUE with `--queue-bypass`: when no daemon
reads the queue, packets pass undelayed instead of being dropped. The address-type matches keep out what
one sandbox host sends another across the bridge (br_netfilter shows bridged packets to PREROUTING too):
host-to-host traffic is not delayed.

The raw table, not mangle: raw comes before conntrack, so a packet is held before conntrack sees it. Held
after it (in mangle), each packet of a new flow sent while the flow's first packet is still held gets a
conntrack entry of its own, which clashes with the first one's when both are let go and is dropped (a ping
every 10 ms lost the 2nd to 4th replies at 50 ms).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Iterable, Sequence

from . import delay_netns
from .errors import SandboxError
from .layout import GATEWAY

CHAIN = "CFG-NETEM"
TABLE = "raw"
HOOKS = ("PREROUTING",)
QUEUE = 19818  # the sandbox's own queue number (198.18), away from the 0 other tools default to
_TARGET = ["-j", "NFQUEUE", "--queue-num", str(QUEUE), "--queue-bypass"]


def host_rules(address: str) -> list[list[str]]:
    """The two rule specs of one delayed host (as `iptables -S` prints them): to it, from it."""
    return [
        ["-d", f"{address}/32", "-m", "addrtype", "--src-type", "LOCAL", *_TARGET],
        ["-s", f"{address}/32", "-m", "addrtype", "--dst-type", "LOCAL", *_TARGET],
    ]


def gateway_rule() -> list[str]:
    """The one rule spec of CFG-NETEM in a delayed host's namespace: what the machine sends to the host."""
    return ["-s", f"{GATEWAY}/32", "-i", "eth0", *_TARGET]


def _rules(listing: str) -> list[list[str]]:
    """The rule specs of CFG-NETEM in `iptables -S CFG-NETEM` output, each without its `-A CFG-NETEM`."""
    found = (shlex.split(line) for line in listing.splitlines())
    return [words[2:] for words in found if words[:2] == ["-A", CHAIN]]


def _address(rule: Sequence[str]) -> str | None:
    """The host address a rule names with -d or -s (without iptables' /32)."""
    for flag in ("-d", "-s"):
        if flag in rule[:-1]:
            return rule[rule.index(flag) + 1].removesuffix("/32")
    return None


def delayed(listing: str) -> set[str]:
    """The addresses that have a rule in `iptables -S CFG-NETEM` output."""
    return {a for a in map(_address, _rules(listing)) if a is not None}


def deletions(listing: str, addresses: Iterable[str]) -> list[list[str]]:
    """The `-D` commands (after `iptables -t raw`) that remove every rule of these addresses, as listed."""
    wanted = set(addresses)
    return [["-D", CHAIN, *rule] for rule in _rules(listing) if _address(rule) in wanted]


def available() -> bool:
    """Whether the machine has iptables."""
    return shutil.which("iptables") is not None


def iptables(*args: str, check: bool = True, where: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """Run `iptables -t raw ARGS` on the machine, behind `where` (SandboxError when it fails and `check`)."""
    if not available():
        raise SandboxError("iptables is missing: this kernel has no netem qdisc, so `sandbox netem` delays "
                           "packets in userspace through iptables' NFQUEUE; install the `iptables` package "
                           "(scripts/install-system-deps.sh does)")
    done = subprocess.run([*where, "iptables", "-w", "5", "-t", TABLE, *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SandboxError(f"{' '.join(where)} iptables -t {TABLE} {' '.join(args)}: {done.stderr.strip()}".strip())
    return done


def listing() -> str:
    """`iptables -t raw -S CFG-NETEM` (empty when the chain is not there)."""
    done = iptables("-S", CHAIN, check=False)
    return done.stdout if done.returncode == 0 else ""


def _chain(where: Sequence[str]) -> list[list[str]]:
    """Make the chain and its jumps where missing; return the rules it already holds."""
    found = iptables("-S", CHAIN, check=False, where=where)
    if found.returncode != 0:
        iptables("-N", CHAIN, where=where)
    for hook in HOOKS:
        if iptables("-C", hook, "-j", CHAIN, check=False, where=where).returncode != 0:
            iptables("-I", hook, "-j", CHAIN, where=where)
    return _rules(found.stdout) if found.returncode == 0 else []


def add(addresses: Iterable[str]) -> None:
    """Send these hosts' packets to the queue (the chain and its jumps made when missing)."""
    present = _chain(())
    for address in addresses:
        for rule in host_rules(address):
            if rule not in present:  # a rule an interrupted run left alone is not doubled
                iptables("-A", CHAIN, *rule)


def add_host_side(pid: int) -> None:
    """Send what the machine sends to the host of process `pid` to the queue of that host's namespace."""
    where = delay_netns.nsenter(pid)
    if gateway_rule() not in _chain(where):
        iptables("-A", CHAIN, *gateway_rule(), where=where)


def remove(addresses: Iterable[str]) -> set[str]:
    """Take these hosts' rules out; return the addresses still delayed."""
    before = listing()
    for argv in deletions(before, addresses):
        iptables(*argv)
    return delayed(listing())


def remove_chain(where: Sequence[str] = ()) -> None:
    """Take the jumps, the chain and its rules away (nothing to do when they are not there)."""
    for hook in ("OUTPUT", *HOOKS):  # OUTPUT: where the machine's side hooked in before
        for _ in range(10):  # one jump is ours; a few more would come from an interrupted `add`
            if iptables("-D", hook, "-j", CHAIN, check=False, where=where).returncode != 0:
                break
    if iptables("-S", CHAIN, check=False, where=where).returncode == 0:
        iptables("-F", CHAIN, where=where)
        iptables("-X", CHAIN, where=where)


def remove_host_side(pid: int) -> None:
    """Take the chain out of the namespace of process `pid` (a host that went down took it along)."""
    try:
        theirs, ours = os.stat(delay_netns.path(pid)), os.stat("/proc/self/ns/net")
    except FileNotFoundError:
        return
    if (theirs.st_dev, theirs.st_ino) != (ours.st_dev, ours.st_ino):  # a reused PID may be a process of ours
        remove_chain(delay_netns.nsenter(pid))
