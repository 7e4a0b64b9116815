"""Drift: plan without writing plus verify, for the whole inventory; classify findings against history.

A drift run is the one run (`engine.executor`) in check mode with the verify hook: each host
is planned, then verified on the same connection; nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from configurator.checks import history
from configurator.checks.findings import HostDrift, StepView, findings, waive
from configurator.checks.results import CheckResult
from configurator.checks.verify import Verifier
from configurator.checks.waivers import Waiver
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
    seconds: float = 0.0


@dataclass(frozen=True)
class Memory:
    """What a drift run remembers and how: the report folder (None: nothing kept), how long, the redaction."""

    folder: Path | None = None
    keep_days: int = history.KEEP_DAYS
    redact: Callable[[str], str] = field(default=lambda text: text)


def drift_all(catalogs: Sequence[Catalog], options: executor.RunOptions) -> list[HostDrift]:
    """Every host in parallel, in check mode with the verify hook (drift writes nothing, so rolling
    batches do not apply)."""
    hook = Verifier(options.sudo_password, fail_host=False)
    results = executor.run_all(executor.at_once(catalogs), replace(options, check=True, after=hook), executor.unseen)
    return [replace(host_drift(r, hook.results.get(r.host, [])), seconds=r.seconds) for r in results]


def host_drift(result: executor.HostResult, checks: list[CheckResult]) -> HostDrift:
    """One host's drift from its check-mode result and its checks (none when it could not be planned)."""
    steps = [StepView(p.id, p.entry.role, status, p.step.summary, p.step.diff, p.entry.checkable)
             for p, status in result.outcome.steps]
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


def classify(hosts: Sequence[HostDrift], memory: Memory, at: str) -> history.Classes:
    """Record this run in the folder's history, with each finding's redacted evidence, and prune it
    (without a folder, every finding is new)."""
    current = [f.key for h in hosts for f in h.findings]
    checked = [h.host for h in hosts if h.status in (DriftStatus.CLEAN, DriftStatus.DRIFT)]
    if memory.folder is None:
        return history.classify(current, {}, checked)
    details = {f.key: memory.redact(f.evidence) for h in hosts for f in h.findings}
    cutoff = (datetime.fromisoformat(at) - timedelta(days=memory.keep_days)).isoformat(timespec="seconds")
    with history.History(memory.folder / "history.sqlite") as db:
        classes = db.record(current, checked, at, details)
        db.prune(cutoff)
        return classes


def run(catalogs: Sequence[Catalog], options: executor.RunOptions, memory: Memory,
        waivers: Sequence[Waiver] = ()) -> DriftRun:
    """A whole drift run: check, verify, apply the waivers, classify (recording the history in the
    memory's folder, when given)."""
    started = datetime.now(UTC)
    at = started.isoformat(timespec="seconds")
    hosts = [waive(h, waivers, started) for h in drift_all(catalogs, options)]
    if memory.folder is not None:
        memory.folder.mkdir(parents=True, exist_ok=True)
    classes = classify(hosts, memory, at)
    return DriftRun(hosts, classes, at, exit_code(hosts), (datetime.now(UTC) - started).total_seconds())
