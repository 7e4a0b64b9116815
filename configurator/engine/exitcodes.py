"""The exit codes of every command, and which one wins when several apply (README "Exit codes").

The one place that turns a run's results into the number a shell, cron or CI job sees.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Protocol

from configurator.engine.status import CheckStatus, DriftStatus, HostStatus

OK = 0  # converged, nothing to do, no drift, every check passed
FAILED = 1  # a host failed (a command or a validator refused), hosts were skipped by a rolling run, a hook failed
CHANGES = 2  # changes pending (check, drift) or made (apply --detailed-exitcode)
UNREACHABLE = 3  # a host could not be connected to
VERIFY_FAILED = 4  # verification failed
USAGE = 64  # a command-line usage error (never 2, which means "changes")
INPUT = 65  # bad input (inventory, role, template, variable), before any connection
INTERRUPTED = 130  # Ctrl-C


class HostOutcome(Protocol):
    """A host's result as far as its exit code goes."""

    @property
    def host(self) -> str: ...

    @property
    def status(self) -> HostStatus: ...

    @property
    def consequence(self) -> bool:
        """Skipped only because a host it waits for failed (that host's status decides the code)."""


def apply(results: Sequence[HostOutcome], *, check: bool = False, detailed: bool = False,
          verify_failed: Collection[str] = (), interrupted: bool = False, hooks_failed: bool = False) -> int:
    """`apply`/`check`: 130 interrupted, then 1 (a failed batch hook too; 4 when every failed host failed
    only its verification), then 3, then 2 for pending changes (check) or made ones (--detailed-exitcode).
    A host skipped because a host it waits for failed counts as that host does."""
    if interrupted:
        return INTERRUPTED
    statuses = {r.status for r in results if not r.consequence}
    if hooks_failed:
        return FAILED
    if statuses & {HostStatus.FAILED, HostStatus.SKIPPED}:
        others = {r.host for r in results if r.status == HostStatus.FAILED} - set(verify_failed)
        return VERIFY_FAILED if verify_failed and not others else FAILED
    if HostStatus.UNREACHABLE in statuses:
        return UNREACHABLE
    if HostStatus.PENDING in statuses and check:
        return CHANGES
    if HostStatus.CHANGED in statuses and detailed:
        return CHANGES
    return OK


def adhoc(*, unreachable: bool, failed: bool, interrupted: bool = False) -> int:
    """`run`: 130 interrupted, then 3 a host unreachable (it wins over a failed command: that host's
    command never ran), then 1 a command failed (non-zero exit, timed out), else 0."""
    if interrupted:
        return INTERRUPTED
    return UNREACHABLE if unreachable else FAILED if failed else OK


def verify(statuses: Iterable[CheckStatus]) -> int:
    """`verify`, from each host's checks status: 4 a check failed, then 3 a host unreachable, else 0."""
    found = set(statuses)
    if CheckStatus.FAILED in found:
        return VERIFY_FAILED
    return UNREACHABLE if CheckStatus.UNREACHABLE in found else OK


def drift(statuses: Iterable[DriftStatus]) -> int:
    """`drift`: 1 a host failed, then 3 a host unreachable, then 2 drift found, else 0."""
    found = set(statuses)
    for status, code in ((DriftStatus.ERROR, FAILED), (DriftStatus.UNREACHABLE, UNREACHABLE),
                         (DriftStatus.DRIFT, CHANGES)):
        if status in found:
            return code
    return OK
