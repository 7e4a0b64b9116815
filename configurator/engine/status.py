"""The statuses of a run: of each step on a host, and of each host (strings in every report)."""

from __future__ import annotations

from enum import StrEnum


class StepStatus(StrEnum):
    """What became of one step of a host's catalog."""

    OK = "ok"  # already as declared
    CHANGED = "changed"  # applied
    PENDING = "pending"  # check mode: would change
    UNKNOWN = "unknown"  # check mode: the state could not be read
    FAILED = "failed"
    SKIPPED = "skipped"  # not tried: an earlier step failed, or the run was interrupted
    HANDLER = "handler"  # a handler ran (events only; never in `Outcome.steps`)


class HostStatus(StrEnum):
    """What became of one host."""

    OK = "ok"
    CHANGED = "changed"
    PENDING = "pending"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    SKIPPED = "skipped"  # not started: interrupted, or an earlier batch spent the failure budget

    @property
    def reached(self) -> bool:
        """Whether the host was planned or converged (so a hook such as verify may follow)."""
        return self in (HostStatus.OK, HostStatus.CHANGED, HostStatus.PENDING)

    @property
    def counts_as_failure(self) -> bool:
        """Whether the host spends a rolling run's failure budget."""
        return self in (HostStatus.FAILED, HostStatus.UNREACHABLE)


class CheckStatus(StrEnum):
    """The outcome of one verify check; of a host's checks (passed, failed or unreachable)."""

    PASSED = "passed"
    FAILED = "failed"  # an assertion did not hold
    ERROR = "error"  # the check could not run
    SKIPPED = "skipped"
    UNREACHABLE = "unreachable"

    @property
    def failed(self) -> bool:
        """Whether this counts as a verification failure."""
        return self in (CheckStatus.FAILED, CheckStatus.ERROR)


class DriftStatus(StrEnum):
    """What a drift run found on one host."""

    CLEAN = "clean"
    DRIFT = "drift"
    UNREACHABLE = "unreachable"
    ERROR = "error"
