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


MADE_BY_PACKAGE = """\
description: Resources over what a package install makes (bind9 adds the user bind and /etc/bind).
resources:
  - package: {name: bind9}
  - user: {name: bind, shell: /bin/false}
  - line: {path: /etc/bind/named.conf.options, line: "// managed by configurator", create: true}
  - file: {path: /etc/bind/named.conf.local, content: "// no local zones\\n"}
"""
UNDO_BIND = """
export DEBIAN_FRONTEND=noninteractive
systemctl stop named bind9 2>/dev/null
apt-get -y -q purge bind9 bind9-utils >/dev/null 2>&1; apt-get -y -q autoremove --purge >/dev/null 2>&1
userdel bind 2>/dev/null; groupdel bind 2>/dev/null
rm -rf /etc/bind /var/cache/bind
! getent passwd bind >/dev/null
"""


def test_what_a_package_makes_is_probed_again_before_resources_manage_it(sandbox, tmp_path):
    """Check predicts on the host as it is; apply plans the user, line and file on what the install made."""
    import yaml

    host = sandbox.host("node59")
    sh(host, UNDO_BIND)
    role = tmp_path / "roles" / "made_by_package"
    role.mkdir(parents=True)
    (role / "role.yml").write_text(MADE_BY_PACKAGE)
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump({
        "ssh": ssh_settings(sandbox), "roles_path": [str(tmp_path / "roles")],
        "hosts": {"node59": {"address": host.address}},
        "groups": {"made": {"hosts": ["node59"], "roles": ["made_by_package"]}},
    }, sort_keys=False))
    code, check = configure("check", path, report=tmp_path / "check.json")
    assert code == 2 and check is not None, check
    predicted = [s["resource"].split("[")[0] for s in check["hosts"][0]["steps"] if s["status"] == "pending"]
    assert predicted == ["package", "user", "line", "file"]
    try:
        code, report = configure("apply", path, report=tmp_path / "apply.json")
        assert code == 0 and report is not None, report
        steps = {s["resource"].split("[")[0]: s for s in report["hosts"][0]["steps"]}
        assert [k for k, s in steps.items() if s["status"] == "changed"] == predicted
        # planned on what the install made: the user modified (not created again), the line added to
        # the package's file (not a new file holding only the line), the file's content replaced
        assert "create" not in steps["user"]["summary"] and "create" not in steps["line"]["summary"]
        passwd = sh(host, "getent passwd bind").strip().split(":")
        assert passwd[5] == "/var/cache/bind" and passwd[6] == "/bin/false"
        options = sh(host, "cat /etc/bind/named.conf.options")
        assert "options {" in options and options.endswith("// managed by configurator\n")
        assert sh(host, "cat /etc/bind/named.conf.local") == "// no local zones\n"
        assert report["hosts"][0]["round_trips"] == 4  # probe, install, re-probe, one script
        code, again = configure("apply", path, report=tmp_path / "again.json")
        assert code == 0 and again is not None and again["hosts"][0]["round_trips"] == 1
    finally:
        sh(host, UNDO_BIND, check=False)
