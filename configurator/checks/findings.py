"""Drift findings: a drifted resource or failed role test on one host, and each host's drift."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from configurator.checks.history import Key
from configurator.checks.results import CheckResult
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

    @property
    def key(self) -> Key:
        return (self.host, self.subject)


@dataclass
class HostDrift:
    """One host's drift: what was found, the steps check mode planned and the checks that ran."""

    host: str
    status: DriftStatus
    error: str = ""
    steps: list[StepView] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.status = DriftStatus(self.status)  # a plain string becomes the enum


def findings(host: str, steps: Sequence[StepView], checks: Sequence[CheckResult]) -> list[Finding]:
    """Pure: a finding per drifted resource (plan or generated check) and per failed role test."""
    found: dict[str, Finding] = {}
    for step in steps:
        if step.status in DRIFTED_STEPS:
            found[step.id] = Finding(host, "resource", step.id, step.role, step.summary, step.diff)
    for check in checks:
        if check.failed:
            kind = "resource" if check.kind == "resource" else "check"
            found.setdefault(check.subject, Finding(host, kind, check.subject, check.role)).checks.append(
                (check.name, check.message))
    return list(found.values())
