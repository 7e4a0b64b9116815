"""The outcome of a run as Prometheus text, for node_exporter's textfile collector.

The file is replaced atomically (a temp file in the same directory, then rename), so the
collector never reads half of it; its name must end in `.prom` for the collector to read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from configurator.engine.executor import HostResult
from configurator.engine.status import DriftStatus, HostStatus, StepStatus
from configurator.output import atomic

if TYPE_CHECKING:  # an apply run does not load drift (nor testinfra behind it)
    from configurator.checks.drift import DriftRun

PREFIX = "configurator"
HOST_METRICS = (  # (name, help) of each per-host gauge, in the order they are written
    ("drift_findings", "Drift findings on the host (waived ones not counted); drift runs only."),
    ("drift_waived", "Findings on the host that a waiver still accepts; drift runs only."),
    ("not_checkable", "Resources on the host whose drift cannot be judged; drift runs only."),
    ("changes", "Steps changed (apply) or pending (check) on the host."),
    ("failed", "1 when the host failed, was refused or skipped (drift: could not be checked), else 0."),
    ("unreachable", "1 when the host could not be reached, else 0."),
    ("last_run_timestamp_seconds", "When the run that wrote this ended (Unix time)."),
    ("duration_seconds", "How long the host took in the run."),
)


@dataclass(frozen=True)
class HostFigures:
    """One host's figures for the file; drift-only figures are None in apply runs."""

    host: str
    changes: int
    failed: bool
    unreachable: bool
    seconds: float
    drift_findings: int | None = None
    drift_waived: int | None = None
    not_checkable: int | None = None


@dataclass(frozen=True)
class RunFigures:
    """A whole run: the command, its hosts, when it ended, how long it took and its exit code."""

    command: str
    hosts: Sequence[HostFigures]
    ended: float
    seconds: float
    exit_code: int


def from_apply(command: str, results: Sequence[HostResult], ended: float, seconds: float, code: int) -> RunFigures:
    """The figures of `apply` or `check`."""
    counted = StepStatus.PENDING if command == "check" else StepStatus.CHANGED
    hosts = [HostFigures(r.host, sum(1 for _, s in r.outcome.steps if s == counted),
                         r.status in (HostStatus.FAILED, HostStatus.SKIPPED), r.status == HostStatus.UNREACHABLE,
                         r.seconds) for r in results]
    return RunFigures(command, hosts, ended, seconds, code)


def from_drift(found: DriftRun, ended: float) -> RunFigures:
    """The figures of `drift`."""
    hosts = [HostFigures(h.host, 0, h.status == DriftStatus.ERROR, h.status == DriftStatus.UNREACHABLE, h.seconds,
                         len(h.drifted), len(h.findings) - len(h.drifted), len(h.unchecked)) for h in found.hosts]
    return RunFigures("drift", hosts, ended, found.seconds, found.code)


def label(value: str) -> str:
    """A label value escaped as the text format asks (backslash, double quote, newline)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(run: RunFigures) -> str:
    """The exposition text: per-host gauges, then the run's own."""
    lines: list[str] = []
    for name, text in HOST_METRICS:
        rows = [(h.host, value) for h in run.hosts if (value := _value(h, name, run.ended)) is not None]
        if rows:
            lines += [f"# HELP {PREFIX}_host_{name} {text}", f"# TYPE {PREFIX}_host_{name} gauge"]
            lines += [f'{PREFIX}_host_{name}{{command="{run.command}",host="{label(host)}"}} {number(value)}'
                      for host, value in rows]
    for name, text, value in (("run_timestamp_seconds", "When the run ended (Unix time).", run.ended),
                              ("run_duration_seconds", "How long the whole run took.", run.seconds),
                              ("run_exit_code", "The run's exit code (docs/cli.md).", float(run.exit_code)),
                              ("run_hosts", "Hosts in the run.", float(len(run.hosts)))):
        lines += [f"# HELP {PREFIX}_{name} {text}", f"# TYPE {PREFIX}_{name} gauge",
                  f'{PREFIX}_{name}{{command="{run.command}"}} {number(value)}']
    return "\n".join(lines) + "\n"


def number(value: float) -> str:
    """A sample value in full (`%g` would round a Unix time to 6 digits)."""
    return str(int(value)) if value.is_integer() else repr(value)


def _value(h: HostFigures, name: str, ended: float) -> float | None:
    if name == "last_run_timestamp_seconds":
        return ended
    if name == "duration_seconds":
        return round(h.seconds, 3)
    value = getattr(h, name)
    return None if value is None else float(value)


def write(path: Path, text: str) -> None:
    """Replace `path` atomically (temp file in its directory, then rename), readable by the collector."""
    atomic.write(path, text, 0o644)
