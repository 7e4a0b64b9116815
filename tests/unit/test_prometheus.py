"""The Prometheus textfile: parsed by prometheus_client's own parser, with the run's figures."""

from __future__ import annotations

import stat

from prometheus_client.parser import text_string_to_metric_families

from configurator.checks.drift import DriftRun
from configurator.checks.findings import Finding, HostDrift, StepView
from configurator.checks.history import Classes
from configurator.engine.converge import Outcome
from configurator.engine.executor import HostResult
from configurator.engine.status import StepStatus
from configurator.output import prometheus


def samples(text: str) -> dict[tuple[str, str], float]:
    """(metric, host or "") -> value."""
    return {(s.name, s.labels.get("host", "")): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_an_apply_run_parses_and_its_figures_match():
    changed = Outcome(steps=[(None, StepStatus.CHANGED), (None, StepStatus.OK)])  # type: ignore[list-item]
    results = [HostResult("web1", "changed", changed, seconds=1.25),
               HostResult("web\"2", "unreachable", error="timed out"), HostResult("db1", "failed")]
    text = prometheus.render(prometheus.from_apply("apply", results, 1764453600.5, 3.5, 1))
    found = samples(text)
    assert found[("configurator_host_changes", "web1")] == 1
    assert found[("configurator_host_unreachable", 'web"2')] == 1 and found[("configurator_host_failed", "db1")] == 1
    assert found[("configurator_host_duration_seconds", "web1")] == 1.25
    assert found[("configurator_host_last_run_timestamp_seconds", "db1")] == 1764453600.5
    assert found[("configurator_run_exit_code", "")] == 1 and found[("configurator_run_hosts", "")] == 3
    assert ("configurator_host_drift_findings", "web1") not in found  # drift runs only


def test_a_drift_run_counts_findings_waived_and_not_checkable():
    waived = Finding("node9", "resource", "file[/etc/motd]", waived=True)
    steps = [StepView("command[/bin/true]", "r", StepStatus.PENDING, checkable=False)]
    hosts = [HostDrift("node9", "drift", "", steps, [], [Finding("node9", "resource", "file[/a]"), waived],
                       seconds=0.5), HostDrift("node10", "unreachable", "x")]
    found = samples(prometheus.render(prometheus.from_drift(DriftRun(hosts, Classes(), "t", 3, 2.0), 1.0)))
    assert found[("configurator_host_drift_findings", "node9")] == 1
    assert found[("configurator_host_drift_waived", "node9")] == 1
    assert found[("configurator_host_not_checkable", "node9")] == 1
    assert found[("configurator_host_unreachable", "node10")] == 1 and found[("configurator_run_exit_code", "")] == 3


def test_the_file_is_replaced_whole_and_readable_by_the_collector(tmp_path):
    path = tmp_path / "configurator.prom"
    path.write_text("old\n")
    prometheus.write(path, "configurator_run_hosts{command=\"apply\"} 1\n")
    assert path.read_text().endswith(" 1\n") and stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["configurator.prom"]  # no temp file left
