"""The Connection protocol: what the engine and the checks use of a host's connection, whatever its kind.

Two kinds implement it: the SSH session (connections/ssh.py) and the local one (connections/local.py).
Both keep one `sh` running and frame every script the same way (connections/shell.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from configurator.connections.streams import KEEP, Keep
from configurator.model.inventory import Host


@dataclass(frozen=True)
class Result:
    """What one script printed and its exit status."""

    stdout: str
    stderr: str
    status: int


class Connection(Protocol):
    """One host's shell: each `run()` is one round trip; `lock` ('x' or 's') takes the host lock first."""

    host: Host
    user: str  # who the shell logs in as (before become)
    round_trips: int
    abort: threading.Event | None  # once set, the running script's processes are ended

    @property
    def nodelay(self) -> bool:
        """Whether TCP_NODELAY is set on the connection's socket (False where there is none)."""

    def run(self, script: str, timeout: float | None = None, lock: str = "", keep: Keep = KEEP) -> Result:
        """Run `script` in a subshell of the host's shell."""

    def put(self, local: str) -> str:
        """Put the local file `local` in a private staging folder on the host; the path it landed at."""

    def unstage(self) -> None:
        """Remove the staging folder and what is left in it."""

    def reopen(self) -> None:
        """Connect again, as at first (after the host rebooted); the next `run` starts a fresh shell."""

    def close(self) -> None:
        """End the shell (and so release the host lock); a connection already gone is not an error."""
