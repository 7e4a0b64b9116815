"""Rolling groups on node22-24: budgets per group, percentage ramps, batch hooks, groups side by side,
`after:` ordering; times come from the JSON report, effects from the hosts."""

from __future__ import annotations

import datetime
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.engine_helpers import HERE, configure, sh, ssh_settings

pytestmark = pytest.mark.integration

NAMES = ["node22", "node23", "node24"]
REFUSED = 2222  # nothing listens there on a sandbox host: a host on that port is unreachable at once


@pytest.fixture
def hosts(sandbox):
    """node22-24 with the stamp file and the hook log removed."""
    found = [sandbox.host(n) for n in NAMES]
    for host in found:
        sh(host, "rm -rf /srv/rollout /var/tmp/rollout-hooks.log")
    return found


def inventory(sandbox: Any, path: Path, groups: dict[str, Any], odd: dict[str, Any] | None = None) -> Path:
    """An inventory of node22-24 (and `odd` hosts with their own keys) with the rollout_demo role on each group."""
    hosts = {n: {"address": sandbox.host(n).address} for n in NAMES} | (odd or {})
    groups = {name: {"roles": ["rollout_demo"], **spec} for name, spec in groups.items()}
    data = {"ssh": ssh_settings(sandbox, 3), "roles_path": [str(HERE / "roles")], "hosts": hosts, "groups": groups}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def stamp() -> tuple[str, str]:
    """A fresh value for the stamp file, so that every host has a change to make."""
    value = uuid.uuid4().hex[:12]
    return value, f"rollout_stamp={value}"


def stamped(host: Any) -> str:
    return sh(host, "cat /srv/rollout/stamp 2>/dev/null || true").strip()


def by_host(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {h["host"]: h for h in report["hosts"]}


def apply(path: Path, report: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    """`configure apply`, its exit code and its JSON report (checked against the documented schema)."""
    import jsonschema

    code, data = configure("apply", path, *extra, report=report)
    assert data is not None
    jsonschema.validate(data, json.loads((HERE.parents[1] / "docs" / "json-schema.json").read_text()))
    return code, data


def test_an_unreachable_host_of_one_group_does_not_skip_a_serial_group(sandbox, hosts, tmp_path):
    node22, node23, node24 = hosts
    dns = {"address": node22.address, "port": REFUSED}
    path = inventory(sandbox, tmp_path / "inventory.yml", {
        "infra": {"hosts": ["dns1"]},
        "apps": {"hosts": ["node23", "node24"], "serial": 1, "max_fail": 0},
    }, {"dns1": dns})
    value, var = stamp()
    code, data = apply(path, tmp_path / "run.json", "--var", var, "--limit", "dns1,apps")
    statuses = {h: r["status"] for h, r in by_host(data).items()}
    assert statuses == {"dns1": "unreachable", "node23": "changed", "node24": "changed"}, json.dumps(data, indent=1)
    assert code == 3
    assert [stamped(node23), stamped(node24)] == [value, value]


def times(report: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """host -> (started, ended) in seconds since the epoch, from the JSON report."""
    def seconds(text: str) -> float:
        return datetime.datetime.fromisoformat(text).timestamp()

    return {h["host"]: (seconds(h["started"]), seconds(h["ended"])) for h in report["hosts"] if h["started"]}


def batch_of(report: dict[str, Any]) -> dict[str, str]:
    return {h["host"]: "{group} {index}/{count}".format(**h["batch"]) if h["batch"] else "at once"
            for h in report["hosts"]}


def test_a_percentage_ramp_rolls_out_in_its_batches(sandbox, hosts, tmp_path):
    path = inventory(sandbox, tmp_path / "inventory.yml", {
        "apps": {"hosts": NAMES, "serial": ["34%", "100%"], "vars": {"rollout_pause": 2}}})
    value, var = stamp()
    code, data = apply(path, tmp_path / "run.json", "--var", var)
    assert code == 0, json.dumps(data, indent=1)
    assert batch_of(data) == {"node22": "apps 1/2", "node23": "apps 2/2", "node24": "apps 2/2"}
    when = times(data)
    assert when["node22"][1] <= min(when["node23"][0], when["node24"][0])  # the second batch waited for the first
    assert max(when["node23"][0], when["node24"][0]) < min(when["node23"][1], when["node24"][1])  # side by side
    assert [stamped(h) for h in hosts] == [value] * 3


HOOK_LOG = "/var/tmp/rollout-hooks.log"


def hook_lines(host: Any) -> list[tuple[float, str]]:
    lines = sh(host, f"cat {HOOK_LOG} 2>/dev/null || true").splitlines()
    return [(float(stamp), event) for stamp, _, event in (line.partition(" ") for line in lines)]


def changed_at(host: Any) -> float:
    """When the stamp file was last written on the host (seconds since the epoch)."""
    return float(sh(host, "date -r /srv/rollout/stamp +%s.%N").strip())


def test_batch_hooks_run_before_and_after_each_batch_in_order(sandbox, hosts, tmp_path):
    node22 = hosts[0]
    log = f'echo "$(date +%s.%N) {{{{ when }}}} {{{{ batch | join(",") }}}}" >> {HOOK_LOG}'
    hooks = {"before": [{"on": "node22", "run": log.replace("{{ when }}", "before")}],
             "after": [{"on": "node22", "run": log.replace("{{ when }}", "after") + " ok={{ succeeded | join(',') }}"},
                       {"on": "local", "run": "echo {{ group }} done: {{ succeeded | join(' ') }}", "timeout": 30}]}
    path = inventory(sandbox, tmp_path / "inventory.yml", {
        "apps": {"hosts": ["node23", "node24"], "serial": 1, "batch_hooks": hooks}})
    text = path.read_text().replace("- on: node22", "- on: node22").replace("'on':", "on:")
    path.write_text(text)  # the interface as written by hand: an unquoted `on:` key
    value, var = stamp()
    code, data = apply(path, tmp_path / "run.json", "--var", var, "--limit", "apps")
    assert code == 0, json.dumps(data, indent=1)
    seen = hook_lines(node22)
    assert [event for _, event in seen] == ["before node23", "after node23 ok=node23",
                                            "before node24", "after node24 ok=node24"]
    when = times(data)
    for n, host in enumerate(["node23", "node24"]):  # each host planned, then changed between its hooks
        changed = changed_at(hosts[n + 1])
        assert seen[2 * n][0] <= changed <= seen[2 * n + 1][0] and when[host][1] <= seen[2 * n + 1][0], (seen, when)
    runs = [(h["batch"], h["when"], h["on"], h["status"], h["exit_status"]) for h in data["hooks"]]
    assert runs == [("apps 1/2", "before", "node22", "ok", 0), ("apps 1/2", "after", "node22", "ok", 0),
                    ("apps 1/2", "after", "local", "ok", 0), ("apps 2/2", "before", "node22", "ok", 0),
                    ("apps 2/2", "after", "node22", "ok", 0), ("apps 2/2", "after", "local", "ok", 0)]
    assert data["hooks"][2]["output"] == "apps done: node23" and data["hooks"][2]["command"].startswith("echo apps")


def test_a_failing_before_hook_skips_its_batch_and_stops_the_group(sandbox, hosts, tmp_path):
    hooks = {"before": [{"on": "node22", "run": "echo draining {{ batch | join(' ') }}; exit 7"}]}
    path = inventory(sandbox, tmp_path / "inventory.yml", {
        "apps": {"hosts": ["node23", "node24"], "serial": 1, "max_fail": 1, "batch_hooks": hooks}})
    value, var = stamp()
    code, data = apply(path, tmp_path / "run.json", "--var", var, "--limit", "apps")
    assert code == 1
    found = by_host(data)
    assert [found[n]["status"] for n in ("node23", "node24")] == ["skipped", "skipped"]
    assert "before-hook on node22: failed (exit 7" in found["node23"]["error"]
    assert [(h["status"], h["exit_status"], h["output"]) for h in data["hooks"]] == [("failed", 7, "draining node23")]
    assert [stamped(h) for h in hosts[1:]] == ["", ""]  # neither host was touched


def test_groups_roll_out_side_by_side(sandbox, hosts, tmp_path):
    path = inventory(sandbox, tmp_path / "inventory.yml", {
        "infra": {"hosts": ["node22"], "vars": {"rollout_pause": 4}},
        "apps": {"hosts": ["node23", "node24"], "serial": 1, "vars": {"rollout_pause": 1}}})
    value, var = stamp()
    code, data = apply(path, tmp_path / "run.json", "--var", var)
    assert code == 0, json.dumps(data, indent=1)
    when = times(data)
    assert when["node22"][0] < when["node23"][1]  # the non-serial host started before the serial group finished
    assert when["node23"][0] < when["node22"][1]  # and the app hosts did not wait for it
    assert when["node23"][1] <= when["node24"][0]  # the serial group kept its order
    assert batch_of(data) == {"node22": "at once", "node23": "apps 1/2", "node24": "apps 2/2"}


def test_after_waits_for_the_named_group_and_skips_when_it_failed(sandbox, hosts, tmp_path):
    node22, node23, node24 = hosts
    apps = {"hosts": ["node23", "node24"], "serial": 1, "after": ["infra"], "after_success": True}
    path = inventory(sandbox, tmp_path / "inventory.yml", {
        "infra": {"hosts": ["node22"], "vars": {"rollout_pause": 2}}, "apps": apps})
    value, var = stamp()
    code, data = apply(path, tmp_path / "run.json", "--var", var)
    assert code == 0, json.dumps(data, indent=1)
    when = times(data)
    assert when["node22"][1] <= when["node23"][0] and when["node23"][1] <= when["node24"][0]

    dns = {"address": node22.address, "port": REFUSED}
    path = inventory(sandbox, tmp_path / "down.yml", {"infra": {"hosts": ["dns1"]}, "apps": apps}, {"dns1": dns})
    _, again = stamp()
    code, data = apply(path, tmp_path / "down.json", "--var", again, "--limit", "dns1,apps")
    found = by_host(data)
    assert code == 3, json.dumps(data, indent=1)
    assert [found[n]["status"] for n in ("dns1", "node23", "node24")] == ["unreachable", "skipped", "skipped"]
    for name in ("node23", "node24"):
        assert "after group infra (after_success), where dns1 unreachable" in found[name]["error"]
        assert found[name]["started"] is None
    assert [stamped(node23), stamped(node24)] == [value, value]  # the first run's, untouched


def logged_hooks(sandbox: Any, tmp_path: Path) -> Path:
    """apps (node23, node24) one at a time, with before- and after-hooks that log on node22."""
    log = f'echo "$(date +%s.%N) {{{{ when }}}} {{{{ batch | join(",") }}}}" >> {HOOK_LOG}'
    hooks = {"before": [{"on": "node22", "run": log.replace("{{ when }}", "before")}],
             "after": [{"on": "node22", "run": log.replace("{{ when }}", "after")}]}
    return inventory(sandbox, tmp_path / "inventory.yml", {
        "apps": {"hosts": ["node23", "node24"], "serial": 1, "batch_hooks": hooks}})


def test_a_converged_run_runs_no_hook_and_costs_one_round_trip_a_host(sandbox, hosts, tmp_path):
    path = logged_hooks(sandbox, tmp_path)
    value, var = stamp()
    code, data = apply(path, tmp_path / "first.json", "--var", var, "--limit", "apps")
    assert code == 0 and len(hook_lines(hosts[0])) == 4, json.dumps(data, indent=1)
    sh(hosts[0], f"rm -f {HOOK_LOG}")
    code, data = apply(path, tmp_path / "again.json", "--var", var, "--limit", "apps")
    assert code == 0, json.dumps(data, indent=1)
    assert hook_lines(hosts[0]) == []  # nothing drained: the hook log on node22 was not even created
    found = by_host(data)
    assert [(found[n]["status"], found[n]["round_trips"]) for n in ("node23", "node24")] == [("ok", 1), ("ok", 1)]
    assert [(h["batch"], h["when"], h["status"]) for h in data["hooks"]] == [
        ("apps 1/2", "before", "not needed"), ("apps 1/2", "after", "not needed"),
        ("apps 2/2", "before", "not needed"), ("apps 2/2", "after", "not needed")]


def test_hooks_run_once_for_the_only_batch_with_a_change(sandbox, hosts, tmp_path):
    node22, node23, node24 = hosts
    path = logged_hooks(sandbox, tmp_path)
    value, var = stamp()
    code, data = apply(path, tmp_path / "first.json", "--var", var, "--limit", "apps")
    assert code == 0, json.dumps(data, indent=1)
    sh(node22, f"rm -f {HOOK_LOG}")
    sh(node24, "rm -f /srv/rollout/stamp")  # only node24 has a change to make
    code, data = apply(path, tmp_path / "again.json", "--var", var, "--limit", "apps")
    assert code == 0, json.dumps(data, indent=1)
    assert [event for _, event in hook_lines(node22)] == ["before node24", "after node24"]
    assert stamped(node24) == value
    found = by_host(data)
    assert [found[n]["status"] for n in ("node23", "node24")] == ["ok", "changed"]
    assert [(h["batch"], h["when"], h["status"]) for h in data["hooks"]] == [
        ("apps 1/2", "before", "not needed"), ("apps 1/2", "after", "not needed"),
        ("apps 2/2", "before", "ok"), ("apps 2/2", "after", "ok")]
