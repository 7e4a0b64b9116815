"""Processes the sandbox started, identified by PID plus start time so a reused PID is never hit."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessRef:
    """A process as recorded: its PID and its start time in clock ticks since boot."""

    pid: int
    start: int


def start_time(pid: int) -> int | None:
    """Return the start time of a live (non-zombie) process, or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def ref(pid: int) -> ProcessRef:
    """Return a reference to a live process."""
    start = start_time(pid)
    if start is None:
        raise ProcessLookupError(pid)
    return ProcessRef(pid, start)


def alive(proc: ProcessRef) -> bool:
    """Tell whether the recorded process is still the one running under its PID."""
    return proc.pid > 0 and start_time(proc.pid) == proc.start


def reap(pid: int) -> None:
    """Collect the exit status if the process is our own exited child."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def wait_gone(proc: ProcessRef, timeout: float) -> bool:
    """Wait until the process is gone; return whether it is."""
    deadline = time.monotonic() + timeout
    while True:
        reap(proc.pid)
        if not alive(proc):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def send(proc: ProcessRef, sig: int) -> None:
    """Send a signal to the recorded process if it is still that process."""
    if alive(proc):
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, sig)


def stop(proc: ProcessRef, first: int = signal.SIGTERM, grace: float = 5.0) -> None:
    """Send ``first``, wait ``grace`` seconds, then SIGKILL and wait again."""
    send(proc, first)
    if not wait_gone(proc, grace):
        send(proc, signal.SIGKILL)
        wait_gone(proc, 5.0)


def children(pid: int) -> list[int]:
    """Return the PIDs of the direct children of a process."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(p) for p in text.split()]


def wait_child(parent: ProcessRef, timeout: float) -> ProcessRef:
    """Wait for the first child of ``parent`` to appear and return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in children(parent.pid):
            return ref(pid)
        if not alive(parent):
            break
        time.sleep(0.005)
    raise TimeoutError(f"process {parent.pid} started no child")
