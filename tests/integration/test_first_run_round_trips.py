"""Round trips of a first run: the benchmark workload on reset hosts, then a converged run in one."""

from __future__ import annotations

import os

import pytest

from bench import workload
from tests.integration.engine_helpers import configure, sh, ssh_settings

pytestmark = pytest.mark.integration

HOSTS = ("node58", "node59")
PACKAGE_TRANSACTIONS = 1  # the workload's packages are consecutive: one apt transaction
HANDLERS = 0  # the workload notifies none
# probe, apt transaction, re-probe after it, one script for every other change
FIRST_RUN = 4


@pytest.fixture(scope="module")
def bench_inventory(sandbox, tmp_path_factory):
    """The benchmark's inventory for node58 and node59, both reset to before the workload."""
    import yaml

    data = workload.load()
    for name in HOSTS:
        host = sandbox.host(name)
        sh(host, workload.prepare_script(data))
        sh(host, workload.reset_script(data))
    path = tmp_path_factory.mktemp("first_run") / "inventory.yml"
    path.write_text(yaml.safe_dump({
        "ssh": ssh_settings(sandbox),
        "vars": data,
        "roles_path": [str(workload.ROLES_DIR)],
        "hosts": {n: {"address": sandbox.host(n).address} for n in HOSTS},
        "groups": {"bench": {"hosts": list(HOSTS), "roles": ["bench"]}},
    }, sort_keys=False))
    return path, data


def test_first_run_then_converged_run_round_trips(sandbox, bench_inventory, tmp_path):
    path, data = bench_inventory
    code, report = configure("apply", path, report=tmp_path / "first.json")
    assert code == 0, report
    assert report is not None
    counts = {h["host"]: h["round_trips"] for h in report["hosts"]}
    changes = {h["host"]: sum(s["status"] == "changed" for s in h["steps"]) for h in report["hosts"]}
    if os.environ.get("ROUND_TRIPS_REPORT"):
        print(f"\nfirst run: round trips {counts}, changes {changes}")
    for name in HOSTS:
        host = sandbox.host(name)
        assert "install ok installed" in sh(host, "dpkg-query -W -f='${Status}' nginx-light tree cron")
        assert sh(host, "cat /srv/bench/settings").splitlines() == ["mode=prod", "workers=4"]
        assert sh(host, "getent passwd benchuser2").split(":")[6].strip() == "/bin/sh"
        assert sh(host, "ls /srv/bench/conf | wc -l").strip() == str(len(data["bench_files"]))
    assert counts == {n: FIRST_RUN for n in HOSTS}, (counts, changes)
    assert FIRST_RUN <= PACKAGE_TRANSACTIONS + HANDLERS + 3

    code, report = configure("apply", path, "--detailed-exitcode", report=tmp_path / "again.json")
    assert code == 0, report
    assert report is not None
    assert {h["host"]: h["round_trips"] for h in report["hosts"]} == {n: 1 for n in HOSTS}
