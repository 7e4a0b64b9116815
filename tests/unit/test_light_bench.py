"""The benchmark's light-host run, its pure parts: workload, targets with ports, figures (no hosts, no timing)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest
import yaml

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import floor  # noqa: E402
import hostset  # noqa: E402
import light  # noqa: E402
import measure  # noqa: E402
import run  # noqa: E402
import table  # noqa: E402
import workload  # noqa: E402


def converged(tool: str, hosts: int, seconds: float, cpu: float, rss: float = 60.0) -> table.Row:
    runs = [measure.Measured(seconds, cpu, rss, rss + 5, 0, Path("/dev/null"))] * 3
    return table.Row(tool, hosts, 20, None, None, runs, [0] * 3)


def test_the_light_workload_has_no_services_and_only_packages_of_the_base() -> None:
    data = workload.load(workload.LIGHT_VARS_FILE)
    assert data["bench_services"] == [] and workload.resource_count(data) == 20
    assert set(data["bench_packages"]) <= {"openssh-server", "python3", "sudo", "iproute2"}
    assert {k for k in data if k != "bench_services"} == {k for k in workload.load() if k != "bench_services"}


def test_the_floor_probe_of_the_light_workload_does_not_ask_systemd() -> None:
    assert "systemctl" not in workload.floor_probe(workload.load(workload.LIGHT_VARS_FILE))
    assert "systemctl show" in workload.floor_probe(workload.load())


@pytest.mark.parametrize(("target", "split"), [("198.18.0.160", ("198.18.0.160", 22)),
                                               ("198.18.0.160:2201", ("198.18.0.160", 2201))])
def test_floor_targets_carry_the_port_off_22(target: str, split: tuple[str, int]) -> None:
    address, port = split
    assert floor.split(target) == split and hostset.Host("h", address, port).target == target


def test_the_floor_looks_a_host_up_in_known_hosts_read_once(tmp_path: Path) -> None:
    public = "AAAAC3NzaC1lZDI1NTE5AAAAILqvoW4IRyKKNKB740p1kutFGc9JrqKVGXtVnTj/+6Ne"
    (tmp_path / "kh").write_text(f"light1,198.18.0.160 ssh-ed25519 {public}\n"
                                 f"light41,[198.18.0.160]:2201 ssh-ed25519 {public[:-4]}AAAA\n")
    known = floor.paramiko.HostKeys(str(tmp_path / "kh"))
    assert floor.known_name("198.18.0.160", 22) == "198.18.0.160"
    assert known.lookup(floor.known_name("198.18.0.160", 2201))["ssh-ed25519"].get_base64().endswith("AAAA")


def test_the_configurator_inventory_names_the_port_only_off_22(tmp_path: Path) -> None:
    hosts = hostset.HostSet((hostset.Host("light1", "198.18.0.160"), hostset.Host("light41", "198.18.0.160", 2201)),
                            "/k", "/kh")
    data = yaml.safe_load(hostset.configurator_inventory(hosts, {}, tmp_path / "i.yml").read_text())
    assert data["hosts"] == {"light1": {"address": "198.18.0.160"},
                             "light41": {"address": "198.18.0.160", "port": 2201}}
    assert hosts.addresses == ["198.18.0.160", "198.18.0.160:2201"]


def test_light_sizes_are_sorted_and_positive() -> None:
    assert run.light_sizes("1000,100,300") == [100, 300, 1000]
    for bad in ("0", "x", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            run.light_sizes(bad)


def test_light_run_defaults_and_its_own_results_folder() -> None:
    args = run.parse(["--light-hosts", "10,100"])
    assert args.light_hosts == [10, 100] and args.out == BENCH / "results" / "light" and args.light_forks == 0
    assert (light.forks(args, 300), light.forks(args, 10)) == (64, 10) and run.parse([]).out == BENCH / "results"
    assert light.forks(run.parse(["--light-hosts", "300", "--light-forks", "300"]), 300) == 300


def test_figures_give_cpu_per_host_ratio_to_the_floor_and_growth() -> None:
    rows = [converged("configurator", 100, 1.2, 1.0), converged("floor", 100, 1.0, 0.5),
            converged("configurator", 300, 3.0, 2.8), converged("floor", 300, 2.5, 1.5)]
    lines = light.figures(rows)
    assert lines[0] == ("100 light hosts: configurator / floor 1.20x, controller CPU 10.0 ms a host, "
                        "peak RSS 60 MB (tree 65 MB)")
    assert lines[2] == "configurator, per extra light host (100 -> 300): 9.0 ms wall, 9.0 ms CPU"
    assert lines[3] == "floor, per extra light host (100 -> 300): 7.5 ms wall, 5.0 ms CPU"
