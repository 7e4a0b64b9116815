"""Drift findings: a drifted resource or failed role test on one host, and each host's drift."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from configurator.checks import waivers as waivers_mod
from configurator.checks.history import Key
from configurator.checks.results import CheckResult
from configurator.checks.waivers import Waiver
from configurator.engine.status import DriftStatus, StepStatus

DRIFTED_STEPS = (StepStatus.PENDING, StepStatus.UNKNOWN)


@dataclass(frozen=True)
class StepView:
    """What check mode said about one resource."""

    id: str
    role: str
    status: StepStatus
    summary: str = ""
    diff: str = ""
    checkable: bool = True  # False: an unguarded command, or `checkable: false` in the role


@dataclass
class Finding:
    """One drifted resource or failed role test on one host, with the evidence."""

    host: str
    kind: str  # resource | check
    subject: str
    role: str = ""
    summary: str = ""
    diff: str = ""
    checks: list[tuple[str, str]] = field(default_factory=list)  # (check name, failure message)
    waiver: Waiver | None = None  # the waiver naming it (held or expired)
    waived: bool = False  # its waiver still holds: shown, but not drift

    @property
    def key(self) -> Key:
        return (self.host, self.subject)

    @property
    def evidence(self) -> str:
        """What history keeps of it: the diff, else the summary, else the failed checks' messages."""
        return self.diff or self.summary or "\n".join(f"{name}: {message}" for name, message in self.checks)


@dataclass
class HostDrift:
    """One host's drift: what was found, the steps check mode planned and the checks that ran."""

    host: str
    status: DriftStatus
    error: str = ""
    steps: list[StepView] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    def __post_init__(self) -> None:
        self.status = DriftStatus(self.status)  # a plain string becomes the enum

    @property
    def unchecked(self) -> list[StepView]:
        """The resources check mode cannot judge (listed apart, never drift)."""
        return [s for s in self.steps if not s.checkable]

    @property
    def drifted(self) -> list[Finding]:
        """The findings that count as drift (not waived)."""
        return [f for f in self.findings if not f.waived]


def findings(host: str, steps: Sequence[StepView], checks: Sequence[CheckResult]) -> list[Finding]:
    """Pure: a finding per drifted resource (plan or generated check) and per failed role test; a
    resource that is not checkable is never one."""
    found: dict[str, Finding] = {}
    unchecked = {s.id for s in steps if not s.checkable}
    for step in steps:
        if step.status in DRIFTED_STEPS and step.checkable:
            found[step.id] = Finding(host, "resource", step.id, step.role, step.summary, step.diff)
    for check in checks:
        if check.failed and check.subject not in unchecked:
            kind = "resource" if check.kind == "resource" else "check"
            found.setdefault(check.subject, Finding(host, kind, check.subject, check.role)).checks.append(
                (check.name, check.message))
    return list(found.values())


def waive(drift: HostDrift, waivers: Sequence[Waiver], now: dt.datetime) -> HostDrift:
    """Mark the host's findings its waivers name; a host whose every finding is waived is clean."""
    for finding in drift.findings:
        finding.waiver, finding.waived = waivers_mod.find(waivers, drift.host, finding.subject, now)
    if drift.status == DriftStatus.DRIFT and not drift.drifted:
        drift.status = DriftStatus.CLEAN
    return drift
