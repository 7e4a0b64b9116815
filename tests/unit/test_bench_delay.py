"""The benchmark at a distance, its pure parts: the delay's command lines and clearing, the manual
baseline's command, configurator's round trips against their bound, the targets, the options."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import delay  # noqa: E402
import distance  # noqa: E402
import manual  # noqa: E402
import measure  # noqa: E402
import run  # noqa: E402
import table  # noqa: E402
import trips  # noqa: E402


def fake(seconds: float) -> measure.Measured:
    return measure.Measured(seconds, 0.1, 50.0, 0.0, 0, Path("/dev/null"))


def row(tool: str, first: float | None, conv: list[float], resources: int = 23) -> table.Row:
    return table.Row(tool, 5, resources, fake(first) if first is not None else None, 0,
                     [fake(c) for c in conv], [0] * len(conv))


@pytest.mark.parametrize(("round_trip", "each_way"), [(100, "50ms"), (25, "12.5ms"), (1, "0.5ms")])
def test_the_round_trip_is_split_in_half_each_way(round_trip: float, each_way: str) -> None:
    assert delay.each_way(round_trip) == each_way


@pytest.mark.parametrize(("round_trip", "spec"), [(100, ["--delay", "50ms"]), (0, ["--clear"])])
def test_netem_sets_or_clears_only_the_named_hosts(round_trip: float, spec: list[str]) -> None:
    argv = delay.netem_argv("configure", ["node13", "node14"], round_trip)
    assert argv == ["configure", "sandbox", "netem", *spec, "--hosts", "node13,node14"]


def recorder(tmp_path: Path) -> tuple[str, Path]:
    """A stand-in for `configure` that writes down each command line it gets."""
    calls = tmp_path / "calls"
    script = tmp_path / "configure"
    script.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n', encoding="utf-8")
    script.chmod(0o755)
    return str(script), calls


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_the_delay_is_cleared_when_the_block_fails_or_is_interrupted(tmp_path: Path, error: type) -> None:
    configure, calls = recorder(tmp_path)
    with pytest.raises(error), delay.delayed(configure, ["node13"], 100):
        raise error()
    assert calls.read_text().splitlines() == ["sandbox netem --delay 50ms --hosts node13",
                                              "sandbox netem --clear --hosts node13"]


def test_no_delay_touches_no_host(tmp_path: Path) -> None:
    configure, calls = recorder(tmp_path)
    with delay.delayed(configure, ["node13"], 0):
        pass
    assert not calls.exists()


def test_a_failed_netem_stops_the_bench_with_its_message(tmp_path: Path) -> None:
    script = tmp_path / "configure"
    script.write_text("#!/bin/sh\necho 'no such host: node99' >&2\nexit 65\n", encoding="utf-8")
    script.chmod(0o755)
    with pytest.raises(SystemExit, match="no such host: node99"):
        delay.clear(str(script), ["node99"])


@pytest.mark.parametrize(("target", "port", "address"), [("198.18.0.23", "22", "root@198.18.0.23"),
                                                         ("198.18.0.160:2201", "2201", "root@198.18.0.160")])
def test_the_manual_baseline_is_one_strict_ssh_command_per_host(target: str, port: str, address: str) -> None:
    argv = manual.ssh_argv(target, "/k", "/kh", ["nginx-light", "cron", "tree"])
    assert argv[-2:] == [address, "DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light cron tree"]
    assert argv[argv.index("-p") + 1] == port and argv[argv.index("-i") + 1] == "/k"
    assert {"StrictHostKeyChecking=yes", "UserKnownHostsFile=/kh", "BatchMode=yes"} <= set(argv)


def test_package_names_reach_the_remote_shell_quoted() -> None:
    assert manual.install_command(["a b", "c;d"]).endswith("install -y -q 'a b' 'c;d'")


def step(resource: str, status: str = "changed") -> dict[str, str]:
    return {"resource": resource, "status": status}


@pytest.mark.parametrize(("steps", "count"), [
    ([step("package[a]"), step("package[b]"), step("user[u]")], 1),
    ([step("package[a]"), step("user[u]"), step("package[b]")], 2),
    ([step("package[a]", "ok"), step("package[b]"), step("package[c]")], 1),
    ([step("package[a]"), step("package[b]", "ok"), step("package[c]")], 2),
    ([step("package[a]", "ok"), step("file[/x]")], 0),
    ([], 0),
])
def test_consecutive_changed_packages_are_one_transaction(steps: list[dict[str, str]], count: int) -> None:
    assert trips.transactions(steps) == count


def report(*hosts: tuple[str, int, list[dict[str, str]], list[str]]) -> dict[str, Any]:
    return {"hosts": [{"host": h, "round_trips": n, "steps": s, "handlers": r} for h, n, s, r in hosts]}


def test_the_bound_counts_transactions_and_handlers_from_the_report() -> None:
    found = trips.read(report(("node13", 4, [step("package[a]"), step("package[b]")], []),
                              ("node14", 6, [step("package[a]"), step("file[/x]")], ["reload nginx"])))
    assert [(h.host, h.round_trips, h.bound) for h in found] == [("node13", 4, 4), ("node14", 6, 5)]
    assert trips.worst(found) == found[1]
    assert trips.describe("first run", found) == ("configurator round trips a host, first run: 4, 6 (bound 4 = 1 "
                                                  "package transaction + 0 handlers + 3; 5 = 1 package transaction "
                                                  "+ 1 handler + 3)")


def test_a_missing_report_is_not_measured(tmp_path: Path) -> None:
    assert trips.load(tmp_path / "none.json") == []
    assert trips.describe("first run", []).endswith("not measured (no report)")


def targets(rows: list[table.Row], first: list[trips.HostTrips]) -> list[tuple[bool | None, float]]:
    return [(t.met, round(t.value, 3)) for t in distance.compute(rows, first, 5, 23, 100)]


def test_the_targets_at_a_distance() -> None:
    rows = [row("manual", 20.0, [], 3), row("configurator", 21.0, [1.2, 1.1, 1.3]), row("floor", None, [1.0] * 3),
            row("pyinfra", 70.0, [9.0])]
    first = [trips.HostTrips("node13", 4, 1, 0), trips.HostTrips("node14", 5, 1, 0)]
    assert targets(rows, first) == [(True, 1.2), (False, 5), (True, 1.05), (True, 3.333)]


def test_missing_rows_and_reports_are_not_measured() -> None:
    assert [met for met, _ in targets([row("configurator", 21.0, [1.2])], [])] == [None] * 4


def test_the_slow_peers_take_their_own_number_of_runs() -> None:
    args = run.parse(["--delay", "100", "--runs", "3", "--peer-runs", "1"])
    assert [distance.runs_of(args, t) for t in ("configurator", "floor", "pyinfra", "ansible")] == [3, 3, 1, 1]
    assert distance.runs_of(run.parse(["--delay", "100"]), "ansible") == 5


@pytest.mark.parametrize(("argv", "folder"), [(["--delay", "100"], "delay-100ms"), (["--delay", "0"], "delay-0ms"),
                                              (["--delay", "12.5"], "delay-12.5ms"), ([], "results")])
def test_each_delay_has_its_own_results_folder(argv: list[str], folder: str) -> None:
    assert run.parse(argv).out.name == folder


@pytest.mark.parametrize("argv", [["--peer-runs", "1"], ["--delay", "100", "--peer-runs", "0"],
                                  ["--delay", "-5"], ["--delay", "100", "--big-hosts", "50"],
                                  ["--delay", "100", "--profile"]])
def test_options_that_do_not_go_together_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        run.parse(argv)
