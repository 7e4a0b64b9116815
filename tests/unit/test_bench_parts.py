"""The benchmark's pure parts: workload scripts, change counting, medians, targets (no hosts, no timing)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import measure  # noqa: E402
import table  # noqa: E402
import targets  # noqa: E402
import tools  # noqa: E402
import workload  # noqa: E402


def fake(seconds: float, cpu: float = 0.1, rss: float = 50.0, code: int = 0) -> measure.Measured:
    return measure.Measured(seconds, cpu, rss, 0.0, code, Path("/dev/null"))


def row(tool: str, hosts: int, resources: int, first: float | None, conv: list[float]) -> table.Row:
    return table.Row(tool, hosts, resources, fake(first) if first is not None else None, 0,
                     [fake(c) for c in conv], [0] * len(conv))


def test_the_workload_has_about_twenty_resources_and_one_list_per_kind() -> None:
    data = workload.load()
    assert workload.resource_count(data) == 23
    assert len(data["bench_files"]) == 10 and len(data["bench_services"]) == 3


def test_with_files_keeps_the_first_names_and_counts_resources() -> None:
    data = workload.with_files(workload.load(), 190)
    assert data["bench_files"][:10] == workload.load()["bench_files"]
    assert workload.resource_count(data) == 203


def test_floor_probe_reads_every_item_with_one_process_per_kind() -> None:
    data = workload.load()
    script = workload.floor_probe(data)
    for path in workload.file_paths(data) + data["bench_dirs"]:
        assert path in script
    assert script.count("sha256sum") == 1 and script.count("systemctl show") == 1
    assert "getent passwd benchuser1 benchuser2" in script


def test_reset_never_stops_ssh_and_removes_everything_the_workload_made() -> None:
    data = workload.load()
    script = workload.reset_script(data)
    assert "stop nginx cron" in script and "stop ssh" not in script
    assert "purge nginx-light cron tree" in script
    assert "userdel -r benchuser2" in script and "rm -rf /srv/bench" in script


def test_ansible_changes_count_items_not_tasks() -> None:
    output = "changed: [node1]\nok: [node2]\nchanged: [node1] => (item=a)\nchanged: [node2] => (item=b)\n"
    assert tools.ansible_changes(output) == 3


def test_pyinfra_changes_read_the_grand_total_success_column() -> None:
    assert tools.pyinfra_changes("--> Results:\n    Grand total   105   90   -   15\n") == 90
    assert tools.pyinfra_changes("    Grand total   105   -   -   105\n") == 0
    with pytest.raises(ValueError):
        tools.pyinfra_changes("nothing here")


def test_configurator_changes_count_changed_steps_of_every_host() -> None:
    report = {"hosts": [{"steps": [{"status": "changed"}, {"status": "ok"}]}, {"steps": [{"status": "changed"}]}]}
    assert tools.configurator_changes(report) == 2


def test_median_of_odd_and_even_counts() -> None:
    assert measure.median([3.0, 1.0, 2.0]) == 2.0
    assert measure.median([4.0, 1.0, 2.0, 3.0]) == 2.5


def test_targets_from_rows() -> None:
    rows = [row("configurator", 5, 23, 10.0, [1.0, 1.0, 1.0]), row("pyinfra", 5, 23, 12.0, [6.0, 6.0, 6.0]),
            row("ansible", 5, 23, 30.0, [40.0] * 3), row("floor", 5, 23, None, [0.8] * 3),
            row("configurator", 5, 203, 20.0, [1.09] * 3)]
    found = {t.name: t for t in targets.compute(rows, 5, 23, 203, 50)}
    assert found["converged, 5 hosts: pyinfra / configurator"].met is True
    assert found["converged, 5 hosts: ansible / configurator"].met is False
    assert found["converged, 5 hosts: configurator / floor"].value == pytest.approx(1.25)
    assert found["converged, 5 hosts: time per extra resource (23 -> 203)"].value == pytest.approx(0.5)
    assert found["first run, 5 hosts: configurator / pyinfra"].met is True
    assert [t.met for t in targets.compute(rows, 5, 23, 203, 50) if "50 hosts" in t.name] == [None]
    assert found["control CPU per host (converged, 5 hosts)"].value == pytest.approx(20)  # 0.1 s / 5 hosts


def test_the_cpu_target_is_taken_from_the_scale_run_when_there_is_one() -> None:
    rows = [row("configurator", 5, 23, 10.0, [1.0] * 3), row("configurator", 50, 23, None, [3.0] * 3),
            row("floor", 50, 23, None, [2.5] * 3)]
    found = {t.name: t for t in targets.compute(rows, 5, 23, 203, 50)}
    assert found["control CPU per host (converged, 50 hosts)"].value == pytest.approx(2)  # 0.1 s / 50 hosts
    assert found["converged, 50 hosts: configurator / floor"].value == pytest.approx(1.2)


def test_the_table_shows_ratios_against_configurator_and_marks_failures() -> None:
    rows = [row("configurator", 5, 23, 10.0, [1.0] * 3), row("pyinfra", 5, 23, 20.0, [5.0] * 3)]
    rows[1].converged.append(fake(5.0, code=1))
    text = table.render(rows, 3)
    assert "pyinfra (FAILED)" in text
    assert "5.00" in text.splitlines()[3] and "2.00" in text.splitlines()[3]
