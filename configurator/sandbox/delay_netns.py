"""A host's network namespace from the machine: its path, the nsenter prefix of commands run in it, and
sockets made inside it for the delay daemon, each on a thread that entered the namespace.

A socket stays in the namespace it was created in, and nfnetlink queues are per namespace, so the daemon
reads a delayed host's queue through a netlink socket made inside that host's namespace. Python 3.11 has
no os.setns: libc's setns(2) through ctypes, on a thread of its own that goes back to the daemon's own
namespace before it ends, so the rest of the daemon never leaves it.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from typing import TypeVar

CLONE_NEWNET = 0x40000000
T = TypeVar("T")


def path(pid: int) -> str:
    """The network namespace of process `pid`."""
    return f"/proc/{pid}/ns/net"


def nsenter(pid: int) -> list[str]:
    """The prefix that runs a machine's command (tc, iptables) in the network namespace of `pid` only."""
    return ["nsenter", f"--net={path(pid)}"]


def _setns(fd: int) -> None:
    """Move the calling thread into the network namespace open on `fd`."""
    if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"setns: {os.strerror(code)}")


def inside(namespace: str, make: Callable[[], T]) -> T:
    """What `make()` returns, called on a thread inside the network namespace at `namespace`."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(namespace, os.O_RDONLY)
    except OSError:
        os.close(home)
        raise
    made: list[T] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            _setns(target)
            try:
                made.append(make())
            finally:
                _setns(home)
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)

    try:
        thread = threading.Thread(target=run, name=f"netns {namespace}")
        thread.start()
        thread.join()
    finally:
        os.close(target)
        os.close(home)
    if failed:
        raise failed[0]
    return made[0]
