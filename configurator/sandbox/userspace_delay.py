"""`sandbox netem` on a kernel without the netem qdisc: iptables rules and one delay daemon (delay_daemon.py).

The daemon runs detached (its own session), logs to netem-daemon.log and is recorded, PID and start time,
in netem-daemon.json (mode 0600) in the sandbox state dir; it is only ever stopped through that record,
after checking the process under that PID is still the daemon. The record is written before the first
rule and removed after the last, so `sandbox down` knows there is something of this state dir to remove.

One setting at a time: every delayed host shares the daemon's delay, jitter and loss, and a new `--delay`
replaces it for all of them. Packets between two sandbox hosts cross the bridge without passing the queue
and are not delayed.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import delay_netns, delay_rules, process
from .errors import SandboxError
from .layout import RUN_DIR
from .netem import Netem
from .ownership import machine_lock
from .process import ProcessRef
from .state import SandboxHost

PROGRAM = "configurator.sandbox.delay_daemon"
RECORD = "netem-daemon.json"
LOG = "netem-daemon.log"
READY_SECONDS = 10.0
LOCK = RUN_DIR / "netem.lock"  # not the sandbox's own lock, which `up` holds while it boots hosts


@dataclass(frozen=True)
class Daemon:
    """The running delay daemon as recorded: its process, the setting it applies, the hosts' namespaces it reads."""

    process: ProcessRef
    netem: Netem
    netns: tuple[int, ...] = ()  # PIDs of hosts in whose network namespace it has a queue


def argv(netem: Netem, netns: Sequence[int], ready_fd: int) -> list[str]:
    """The daemon's command line."""
    return [sys.executable, "-I", "-m", PROGRAM, "--queue", str(delay_rules.QUEUE), "--delay", f"{netem.delay:g}",
            "--jitter", f"{netem.jitter:g}", "--loss", f"{netem.loss:g}", "--netns", ",".join(map(str, netns)),
            "--ready-fd", str(ready_fd)]


def record_text(daemon: Daemon) -> str:
    """The record file's JSON."""
    found, netem = daemon.process, daemon.netem
    return json.dumps({"pid": found.pid, "start": found.start, "delay": netem.delay, "jitter": netem.jitter,
                       "loss": netem.loss, "netns": list(daemon.netns)}) + "\n"


def parse_record(text: str) -> Daemon | None:
    """The daemon a record file names (None when the file is not one)."""
    try:
        data = json.loads(text)
        return Daemon(ProcessRef(int(data["pid"]), int(data["start"])),
                      Netem(float(data["delay"]), float(data["jitter"]), float(data["loss"])),
                      tuple(int(pid) for pid in data.get("netns", [])))
    except (ValueError, KeyError, TypeError):
        return None


def read(state_dir: Path) -> Daemon | None:
    """The recorded daemon, if a record is there."""
    try:
        return parse_record((state_dir / RECORD).read_text())
    except FileNotFoundError:
        return None


def _write(state_dir: Path, daemon: Daemon) -> None:
    """Record the daemon, readable by root only, replacing the file in one rename."""
    temporary = state_dir / f".{RECORD}.tmp"
    temporary.unlink(missing_ok=True)
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
        handle.write(record_text(daemon))
    os.replace(temporary, state_dir / RECORD)


def ours(found: ProcessRef) -> bool:
    """Whether the recorded process still runs and is the delay daemon (a PID can be reused)."""
    try:
        words = Path(f"/proc/{found.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return process.alive(found) and PROGRAM.encode() in words


def running(state_dir: Path) -> Daemon | None:
    """The recorded daemon when it still runs."""
    daemon = read(state_dir)
    return daemon if daemon is not None and ours(daemon.process) else None


def start(state_dir: Path, netem: Netem, netns: Sequence[int]) -> Daemon:
    """Start the daemon detached and wait until it has bound the queue in each namespace."""
    state_dir.mkdir(parents=True, exist_ok=True)
    ready_read, ready_write = os.pipe()
    log = os.open(state_dir / LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        child = subprocess.Popen(argv(netem, netns, ready_write), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 cwd="/", start_new_session=True, pass_fds=(ready_write,))
    finally:
        os.close(log)
        os.close(ready_write)
    with os.fdopen(ready_read, "rb") as ready:
        said = ready.read(6) if select.select([ready], [], [], READY_SECONDS)[0] else b""
    if said != b"ready\n":
        child.kill()
        child.wait()
        raise SandboxError(f"the delay daemon did not start: {_last_line(state_dir / LOG)}")
    daemon = Daemon(process.ref(child.pid), netem, tuple(netns))
    _write(state_dir, daemon)
    return daemon


def _last_line(path: Path) -> str:
    lines = path.read_text(errors="replace").strip().splitlines() if path.exists() else []
    return lines[-1] if lines else f"nothing in {path}"


def stop(state_dir: Path) -> None:
    """Stop the recorded daemon (it lets its held packets go first); its record stays until the rules go."""
    daemon = read(state_dir)
    if daemon is not None and ours(daemon.process):
        process.stop(daemon.process)


def serves(current: Daemon, netem: Netem, hosts: Sequence[SandboxHost]) -> bool:
    """Whether the running daemon serves these hosts as asked: the same setting, a queue in each namespace."""
    return current.netem == netem and {h.pid for h in hosts} <= set(current.netns)


def wanted(recorded: Daemon | None, hosts: Sequence[SandboxHost]) -> list[int]:
    """The namespaces a new daemon reads: those of these hosts and of the hosts still there the last one read."""
    before = [pid for pid in (recorded.netns if recorded else ()) if Path(delay_netns.path(pid)).exists()]
    return sorted({*before, *(h.pid for h in hosts)})


def apply(state_dir: Path, hosts: Sequence[SandboxHost], netem: Netem) -> set[str]:
    """Delay these hosts with `netem`; return the addresses of other hosts now delayed with it too."""
    with machine_lock(LOCK):  # two commands at once would start two daemons for one queue
        current = running(state_dir)
        if current is None or not serves(current, netem, hosts):
            stop(state_dir)
            start(state_dir, netem, wanted(read(state_dir), hosts))
        delay_rules.add(h.address for h in hosts)
        for host in hosts:
            delay_rules.add_host_side(host.pid)
        return delay_rules.delayed(delay_rules.listing()) - {h.address for h in hosts}


def clear(state_dir: Path, hosts: Sequence[SandboxHost]) -> None:
    """Take the delay off these hosts; with none left, remove the chain and stop the daemon."""
    with machine_lock(LOCK):
        if not delay_rules.available():
            clear_all(state_dir)
            return
        for host in hosts:
            delay_rules.remove_host_side(host.pid)
        if not delay_rules.remove(h.address for h in hosts):
            clear_all(state_dir)


def clear_all(state_dir: Path) -> None:
    """No rule on either side, no chain, no daemon, no record (without iptables there can be no rule)."""
    if delay_rules.available():
        daemon = read(state_dir)
        for pid in daemon.netns if daemon else ():
            delay_rules.remove_host_side(pid)
        delay_rules.remove_chain()
    stop(state_dir)
    (state_dir / RECORD).unlink(missing_ok=True)


def down(state_dir: Path) -> None:
    """What `sandbox down` removes of the userspace delay this state dir set (its record says so), log too."""
    if (state_dir / RECORD).exists():
        clear_all(state_dir)
    (state_dir / LOG).unlink(missing_ok=True)


def shown(state_dir: Path) -> dict[str, str]:
    """What `sandbox status` shows for each delayed address."""
    if not delay_rules.available():
        return {}
    daemon = running(state_dir)
    text = f"{daemon.netem.describe()} each way (userspace)" if daemon else "netem rules but no delay daemon: undelayed"
    return {address: text for address in delay_rules.delayed(delay_rules.listing())}
