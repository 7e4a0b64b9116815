"""Unattended runs on node43 and node44: partial runs by tag, saved plans refused on a host changed by
hand, drift that lists a command without guards apart, waivers until their expiry, and the
Prometheus file. Effects are read on the hosts; figures from the JSON reports."""

from __future__ import annotations

import datetime as dt
import json
import stat
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.engine_helpers import HERE, configure, sh, ssh_settings

pytestmark = pytest.mark.integration

NAMES = ["node43", "node44"]
MOTD, CONF, HANDLER = "/srv/unattended/motd", "/srv/unattended/app.conf", "/srv/unattended/handler-ran"
UNGUARDED = "command[/bin/true]"


@pytest.fixture
def hosts(sandbox):
    """node43 and node44 with the role's folder removed."""
    found = [sandbox.host(n) for n in NAMES]
    for host in found:
        sh(host, "rm -rf /srv/unattended")
    return found


@pytest.fixture
def inventory(sandbox, tmp_path) -> Path:
    data = {"ssh": ssh_settings(sandbox), "roles_path": [str(HERE / "roles")],
            "hosts": {n: {"address": sandbox.host(n).address} for n in NAMES},
            "groups": {"unattended": {"hosts": NAMES, "roles": ["unattended_demo"]}}}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def read(host: Any, path: str) -> str:
    return sh(host, f"cat {path} 2>/dev/null || echo MISSING").strip()


def steps(report: dict[str, Any], host: str, statuses: tuple[str, ...] = ("changed", "pending")) -> list[str]:
    return [s["resource"] for h in report["hosts"] if h["host"] == host for s in h["steps"] if s["status"] in statuses]


def samples(path: Path) -> dict[tuple[str, str], float]:
    """(metric, host) -> value, read by prometheus_client's own parser."""
    families = text_string_to_metric_families(path.read_text())
    return {(s.name, s.labels.get("host", "")): s.value for f in families for s in f.samples}


def test_tags_run_exactly_the_tagged_resources(hosts, inventory, tmp_path, capsys):
    node43, _ = hosts
    sh(node43, "mkdir -p /srv/unattended")
    code, report = configure("apply", inventory, "--limit", "node43", "--tags", "config", report=tmp_path / "r.json")
    assert code == 0 and report is not None
    assert [s["resource"] for s in report["hosts"][0]["steps"]] == [f"file[{CONF}]"]
    assert read(node43, CONF) == "port=8080"
    assert read(node43, MOTD) == "MISSING" and read(node43, HANDLER) == "MISSING"  # its handler never fired
    capsys.readouterr()
    code, _ = configure("check", inventory, "--limit", "node43", "--skip-tags", "config")
    shown = capsys.readouterr().out
    assert code == 2 and "Partial run (skipping tags: config)" in shown
    assert f"file[{MOTD}] (tags: unattended, motd)" in shown and f"file[{CONF}]" not in shown


def test_a_saved_plan_applies_its_changes_and_refuses_a_host_changed_since(hosts, inventory, tmp_path, capsys):
    node43, node44 = hosts
    assert configure("apply", inventory)[0] == 0
    sh(node43, f"rm -f {HANDLER}")
    sh(node44, f"rm -f {HANDLER}")
    plan = tmp_path / "plan.json"
    code, report = configure("check", inventory, "--var", "unattended_motd=reviewed", "--out", plan,
                             report=tmp_path / "check.json")
    assert code == 2 and report is not None and stat.S_IMODE(plan.stat().st_mode) == 0o600
    planned = {h: steps(report, h) for h in NAMES}
    assert planned["node43"] == [f"file[{MOTD}]", UNGUARDED]
    sh(node44, f"echo port=1 > {CONF}")  # by hand, between the review and the apply
    capsys.readouterr()
    code, applied = configure("apply", plan, report=tmp_path / "apply.json")
    assert code == 1 and applied is not None
    by_host = {h["host"]: h for h in applied["hosts"]}
    assert steps(applied, "node43", ("changed",)) == planned["node43"]
    assert read(node43, MOTD) == "reviewed" and read(node43, HANDLER) != "MISSING"
    assert by_host["node44"]["status"] == "failed" and f"file[{CONF}] is no longer as planned" in \
        by_host["node44"]["error"]
    assert read(node44, MOTD) == "hello" and read(node44, CONF) == "port=1"  # nothing changed there
    assert read(node44, HANDLER) == "MISSING"


def test_drift_lists_an_unguarded_command_as_not_checkable_and_honours_waivers(hosts, inventory, tmp_path, capsys):
    node43, node44 = hosts
    assert configure("apply", inventory)[0] == 0
    folder = tmp_path / "drift"
    assert configure("drift", inventory, "--report", folder, "--quiet")[0] == 0
    data = json.loads((folder / "drift.json").read_text())
    assert {h["host"]: h["not_checkable"] for h in data["hosts"]} == {n: [UNGUARDED] for n in NAMES}
    assert all(h["status"] == "clean" and not h["findings"] for h in data["hosts"])
    sh(node44, f"echo by hand > {MOTD}")
    expires = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=25)
    waivers = tmp_path / "waivers.yml"
    waivers.write_text(yaml.safe_dump([{"host": "node44", "resource": f"file[{MOTD}]", "reason": "banner test",
                                        "expires": expires.isoformat()}]))
    prom = tmp_path / "drift.prom"
    args = ("drift", inventory, "--report", folder, "--waivers", waivers, "--prometheus", prom, "--quiet")
    assert configure(*args)[0] == 0
    waived = {h["host"]: h for h in json.loads((folder / "drift.json").read_text())["hosts"]}["node44"]["findings"][0]
    assert waived["waived"] is True and waived["waiver"]["reason"] == "banner test"
    assert samples(prom)[("configurator_host_drift_waived", "node44")] == 1
    deadline = time.monotonic() + 60
    while dt.datetime.now(dt.UTC) < expires and time.monotonic() < deadline:
        time.sleep(1)
    assert configure(*args)[0] == 2
    found = samples(prom)
    assert found[("configurator_host_drift_findings", "node44")] == 1
    assert found[("configurator_host_drift_findings", "node43")] == 0
    assert found[("configurator_host_not_checkable", "node43")] == 1
    assert found[("configurator_run_exit_code", "")] == 2
    capsys.readouterr()
    assert configure("drift", "history", "--report", folder, "--host", "node44")[0] == 0
    shown = capsys.readouterr().out
    assert f"node44  file[{MOTD}]  first seen" in shown and "-by hand" in shown and "node43" not in shown


def test_the_prometheus_file_of_an_apply_matches_the_run(hosts, inventory, tmp_path):
    _, node44 = hosts
    prom = tmp_path / "apply.prom"
    code, report = configure("apply", inventory, "--prometheus", prom, report=tmp_path / "r.json")
    assert code == 0 and report is not None
    found = samples(prom)
    for h in report["hosts"]:
        assert found[("configurator_host_changes", h["host"])] == len(steps(report, h["host"], ("changed",)))
        assert found[("configurator_host_failed", h["host"])] == 0
        assert found[("configurator_host_unreachable", h["host"])] == 0
        assert found[("configurator_host_duration_seconds", h["host"])] == pytest.approx(h["seconds"], abs=0.002)
    assert found[("configurator_host_changes", "node44")] == 4  # the directory, two files and the command
    assert abs(found[("configurator_run_timestamp_seconds", "")] - time.time()) < 60
    assert read(node44, CONF) == "port=8080"
