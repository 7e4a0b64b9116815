"""Drift: plan without writing plus verify, for the whole inventory; classify findings against history.

A drift run is the one run (`engine.executor`) in check mode with the verify hook: each host
is planned, then verified on the same connection; nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from configurator.checks import history
from configurator.checks.findings import HostDrift, StepView, findings
from configurator.checks.results import CheckResult
from configurator.checks.verify import Verifier
from configurator.engine import executor, exitcodes
from configurator.engine.status import CheckStatus, DriftStatus, HostStatus
from configurator.model.catalog import Catalog


@dataclass(frozen=True)
class DriftRun:
    """A whole drift run: each host's drift, the history classes, when, and the exit code."""

    hosts: list[HostDrift]
    classes: history.Classes
    at: str
    code: int


def drift_all(catalogs: Sequence[Catalog], options: executor.RunOptions) -> list[HostDrift]:
    """Every host in parallel, in check mode with the verify hook (drift writes nothing, so rolling
    batches do not apply)."""
    hook = Verifier(options.sudo_password, fail_host=False)
    results = executor.run_all(executor.at_once(catalogs), replace(options, check=True, after=hook), executor.unseen)
    return [host_drift(r, hook.results.get(r.host, [])) for r in results]


def host_drift(result: executor.HostResult, checks: list[CheckResult]) -> HostDrift:
    """One host's drift from its check-mode result and its checks (none when it could not be planned)."""
    steps = [StepView(p.id, p.entry.role, status, p.step.summary, p.step.diff) for p, status in result.outcome.steps]
    if result.status == HostStatus.UNREACHABLE:
        return HostDrift(result.host, DriftStatus.UNREACHABLE, result.error, steps)
    if result.status not in (HostStatus.OK, HostStatus.PENDING):
        return HostDrift(result.host, DriftStatus.ERROR, result.error or result.status, steps)
    trouble = [c for c in checks if c.kind == "host"]
    if trouble:
        status = DriftStatus.UNREACHABLE if trouble[0].status == CheckStatus.UNREACHABLE else DriftStatus.ERROR
        return HostDrift(result.host, status, trouble[0].message, steps, checks)
    found = findings(result.host, steps, checks)
    return HostDrift(result.host, DriftStatus.DRIFT if found else DriftStatus.CLEAN, "", steps, checks, found)


def exit_code(hosts: Sequence[HostDrift]) -> int:
    """The run's exit code (`exitcodes.drift`)."""
    return exitcodes.drift(h.status for h in hosts)


def classify(hosts: Sequence[HostDrift], folder: Path | None, at: str) -> history.Classes:
    """Record this run in the folder's history (without a folder, every finding is new)."""
    current = [f.key for h in hosts for f in h.findings]
    checked = [h.host for h in hosts if h.status in (DriftStatus.CLEAN, DriftStatus.DRIFT)]
    if folder is None:
        return history.classify(current, {}, checked)
    with history.History(folder / "history.sqlite") as db:
        return db.record(current, checked, at)


def run(catalogs: Sequence[Catalog], options: executor.RunOptions, folder: Path | None) -> DriftRun:
    """A whole drift run: check, verify, classify (recording the history in `folder`, when given)."""
    at = datetime.now(UTC).isoformat(timespec="seconds")
    hosts = drift_all(catalogs, options)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    return DriftRun(hosts, classify(hosts, folder, at), at, exit_code(hosts))
