"""The gate of a batch with hooks: its hosts connect, probe and plan (each holding its lock), then wait
here; once every host of the batch has planned (or ended without a plan), the before-hooks run only if
one of them has something to change, and the hosts go on in the sessions they already hold."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from configurator.engine.plan import Planned
from configurator.model.catalog import Catalog

# (whether a host of the batch has changes) -> why its hosts must not change ('' when they may)
Decide = Callable[[bool], str]


class NotStarted(Exception):
    """The host was planned but is left unchanged: its batch's before-hook failed."""


class BatchGate:
    """Where the hosts of one batch wait for each other between their plan and their changes."""

    def __init__(self, hosts: Sequence[str], decide: Decide) -> None:
        self.hosts, self.decide = frozenset(hosts), decide
        self.cond = threading.Condition()
        self.seen: set[str] = set()
        self.changes = False
        self.decided = False
        self.needed = False  # a host had changes: the before-hooks were run
        self.refusal = ""

    def planned(self, catalog: Catalog, planned: list[Planned], handlers: list[str]) -> None:
        """converge's gate: wait for the batch, then go on, or refuse the host when its before-hook failed."""
        changes = bool(handlers) or any(p.step.status == "change" for p in planned)
        self.arrive(catalog.host.name, changes)
        if self.refusal:
            raise NotStarted(self.refusal)

    def leave(self, host: str) -> None:
        """A host's run is over (also one that never planned: unreachable, locked): nobody waits for it."""
        self.arrive(host, False, wait=False)

    def arrive(self, host: str, changes: bool, wait: bool = True) -> None:
        """Count the host in (once); the last one decides, the others wait for its decision (unless
        they only leave)."""
        with self.cond:
            if host in self.seen:
                return
            self.seen.add(host)
            self.changes |= changes
            if self.seen != self.hosts:
                while wait and not self.decided:
                    self.cond.wait()
                return
            needed = self.changes
        refusal = "not started: the batch's before-hooks did not finish"
        try:
            refusal = self.decide(needed)
        finally:
            with self.cond:
                self.needed, self.refusal, self.decided = needed, refusal, True
                self.cond.notify_all()

    @property
    def hooks_ran(self) -> bool:
        """Whether the before-hooks ran and passed (the after-hooks then run too)."""
        return self.decided and self.needed and not self.refusal


__all__ = ["BatchGate", "Decide", "NotStarted"]
