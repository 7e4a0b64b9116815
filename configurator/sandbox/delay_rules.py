"""The iptables rules that send a delayed host's packets to the userspace delay (chain CFG-NETEM, table raw).

In the machine's own network namespace, raw OUTPUT and PREROUTING jump to CFG-NETEM, which holds two
rules per delayed host: what this machine sends to it (`-d ADDR`, from a local address) and what it sends
to this machine (`-s ADDR`, to a local address). Both go to NFQUEUE with `--queue-bypass`: when no daemon
reads the queue, packets pass undelayed instead of being dropped. The address-type matches keep out what
one sandbox host sends another across the bridge (br_netfilter shows bridged packets to PREROUTING too):
host-to-host traffic is not delayed.

The raw table, not mangle: raw comes before conntrack, so a packet is held before conntrack sees it. Held
after it (in mangle), each packet of a new flow sent while the flow's first packet is still held gets a
conntrack entry of its own, which clashes with the first one's when both are let go and is dropped (a ping
every 10 ms lost the 2nd to 4th replies at 50 ms).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Iterable, Sequence

from .errors import SandboxError

CHAIN = "CFG-NETEM"
TABLE = "raw"
HOOKS = ("OUTPUT", "PREROUTING")
QUEUE = 19818  # the sandbox's own queue number (198.18), away from the 0 other tools default to
_TARGET = ["-j", "NFQUEUE", "--queue-num", str(QUEUE), "--queue-bypass"]


def host_rules(address: str) -> list[list[str]]:
    """The two rule specs of one delayed host (as `iptables -S` prints them): to it, from it."""
    return [
        ["-d", f"{address}/32", "-m", "addrtype", "--src-type", "LOCAL", *_TARGET],
        ["-s", f"{address}/32", "-m", "addrtype", "--dst-type", "LOCAL", *_TARGET],
    ]


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


def iptables(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `iptables -t raw ARGS` on the machine (SandboxError when it fails and `check`)."""
    if not available():
        raise SandboxError("iptables is missing: this kernel has no netem qdisc, so `sandbox netem` delays "
                           "packets in userspace through iptables' NFQUEUE; install the `iptables` package "
                           "(scripts/install-system-deps.sh does)")
    done = subprocess.run(["iptables", "-w", "5", "-t", TABLE, *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SandboxError(f"iptables -t {TABLE} {' '.join(args)}: {done.stderr.strip()}")
    return done


def listing() -> str:
    """`iptables -t raw -S CFG-NETEM` (empty when the chain is not there)."""
    done = iptables("-S", CHAIN, check=False)
    return done.stdout if done.returncode == 0 else ""


def add(addresses: Iterable[str]) -> None:
    """Send these hosts' packets to the queue (the chain and its jumps made when missing)."""
    if iptables("-S", CHAIN, check=False).returncode != 0:
        iptables("-N", CHAIN)
    for hook in HOOKS:
        if iptables("-C", hook, "-j", CHAIN, check=False).returncode != 0:
            iptables("-I", hook, "-j", CHAIN)
    present = _rules(listing())
    for address in addresses:
        for rule in host_rules(address):
            if rule not in present:  # a rule an interrupted run left alone is not doubled
                iptables("-A", CHAIN, *rule)


def remove(addresses: Iterable[str]) -> set[str]:
    """Take these hosts' rules out; return the addresses still delayed."""
    before = listing()
    for argv in deletions(before, addresses):
        iptables(*argv)
    return delayed(listing())


def remove_chain() -> None:
    """Take the jumps, the chain and its rules away (nothing to do when they are not there)."""
    for hook in HOOKS:
        for _ in range(10):  # one jump is ours; a few more would come from an interrupted `add`
            if iptables("-D", hook, "-j", CHAIN, check=False).returncode != 0:
                break
    if iptables("-S", CHAIN, check=False).returncode == 0:
        iptables("-F", CHAIN)
        iptables("-X", CHAIN)
