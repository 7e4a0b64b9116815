"""app_runtime on node6-8 (bookworm) and node48 (trixie): served through nginx, rolled out one host at a
time, an unhealthy release rolled back on its first host with the rest untouched, old releases pruned,
idempotent."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.integration.engine_helpers import changed_steps, configure, etc_checksum, sh, write_inventory

pytestmark = pytest.mark.integration

GROUPS = {"bookworm": ["node6", "node7", "node8"], "trixie": ["node48"]}  # the hosts of each release
APP = "sampleapp"
ROOT = f"/srv/{APP}"
# Leaves no trace of the app from an earlier session, so the first apply starts from scratch.
RESET = (f"systemctl disable --now {APP}.service 2>/dev/null; rm -rf {ROOT} /etc/{APP} "
         f"/etc/systemd/system/{APP}.service /etc/nginx/sites-enabled/{APP} /etc/nginx/sites-available/{APP} "
         f"/var/lib/configurator/handlers.pending; systemctl daemon-reload; userdel {APP} 2>/dev/null; "
         f"groupdel {APP} 2>/dev/null; true")


def http_get(address: str, path: str) -> tuple[int, str]:
    """GET through nginx on port 80 from the control machine (never through a proxy)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{address}{path}", timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def served(host: Any) -> str:
    status, body = http_get(host.address, "/version")
    assert status == 200, (host.name, status, body)
    return body.strip()


def served_after_reload(host: Any, wanted: str, wait: float = 15.0) -> str:
    """The served version once nginx has switched to the new site: `systemctl reload nginx` only signals
    the master, which starts new workers with the new configuration a moment later."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        status, body = http_get(host.address, "/version")
        if status == 200 and body.strip() == wanted:
            break
        time.sleep(0.2)
    return served(host)


def deploy_log(host: Any) -> list[tuple[float, str]]:
    """The host's deploy log: (time, event) in order."""
    lines = sh(host, f"cat {ROOT}/deploy.log").splitlines()
    return [(float(stamp), event) for stamp, _, event in (line.partition(" ") for line in lines)]


def first(log: list[tuple[float, str]], event: str) -> float:
    return next(stamp for stamp, seen in log if seen == event)


def untouched_state(host: Any) -> dict[str, str]:
    """What a host that was not started must keep: /etc, the release tree, the log, the app process."""
    return {"etc": etc_checksum(host), "tree": sh(host, f"ls -l --full-time {ROOT} {ROOT}/releases"),
            "log": sh(host, f"cat {ROOT}/deploy.log"),
            "pid": sh(host, f"systemctl show -p MainPID --value {APP}.service")}


@pytest.fixture(scope="module", params=sorted(GROUPS))
def app(request, sandbox, tmp_path_factory):
    """The hosts of one release reset, and an inventory rolling app_runtime over them one at a time."""
    names = GROUPS[request.param]
    hosts = [sandbox.host(name) for name in names]
    assert {h.release for h in hosts} == {request.param}
    for host in hosts:
        sh(host, RESET)
    path = tmp_path_factory.mktemp("app") / "inventory.yml"
    group = {"hosts": names, "roles": ["app_runtime"], "serial": 1, "max_fail": 0,
             "vars": {"app_version": "1.0.0", "app_health_timeout": 5}}
    write_inventory(sandbox, path, {"app": group})
    return path, hosts


def apply(path: Path, report: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code, data = configure("apply", path, *extra, report=report)
    assert data is not None
    return code, data


def test_first_deploy_serves_the_version_through_nginx(app, tmp_path):
    path, hosts = app
    code, data = apply(path, tmp_path / "first.json")
    assert code == 0, json.dumps(data, indent=1)
    assert [h["status"] for h in data["hosts"]] == ["changed"] * len(hosts)
    for host in hosts:
        assert served_after_reload(host, "1.0.0") == "1.0.0"
        status, body = http_get(host.address, "/")
        assert status == 200 and json.loads(body)["version"] == "1.0.0" and json.loads(body)["host"] == host.name
        assert http_get(host.address, "/healthz")[0] == 200
        assert sh(host, f"readlink {ROOT}/current").strip() == "releases/1.0.0"
        assert sh(host, f"stat -c '%a %U' /etc/{APP}/env").split() == ["600", "root"]
        assert sh(host, f"ps -o user= -p $(systemctl show -p MainPID --value {APP}.service)").strip() == APP


def test_second_apply_changes_nothing_in_one_round_trip(app, tmp_path):
    path, hosts = app
    code, data = apply(path, tmp_path / "second.json", "--detailed-exitcode")
    assert code == 0, json.dumps(data, indent=1)
    assert changed_steps(data) == {h.name: [] for h in hosts}
    assert [(h["status"], h["round_trips"]) for h in data["hosts"]] == [("ok", 1)] * len(hosts)


def test_role_tests_pass(app):
    path, _ = app
    code, _ = configure("verify", path)
    assert code == 0


def test_new_version_rolls_out_one_host_after_the_other(app, tmp_path):
    path, hosts = app
    code, data = apply(path, tmp_path / "rolling.json", "--var", "app_version=2.0.0")
    assert code == 0, json.dumps(data, indent=1)
    summaries = [s["summary"] for h in data["hosts"] for s in h["steps"] if s["resource"] == f"release[{APP}]"]
    assert summaries == [f"deploy {APP} 2.0.0 (current: 1.0.0)"] * len(hosts)
    logs = [deploy_log(h) for h in hosts]
    switched = [first(log, "switch releases/1.0.0 -> releases/2.0.0") for log in logs]
    healthy = [first(log, "healthy releases/2.0.0") for log in logs]
    started = [json.loads(http_get(h.address, "/")[1])["started"] for h in hosts]
    for n in range(len(hosts) - 1):
        # host n switched, restarted and answered healthy before host n+1 was switched
        assert switched[n] < started[n] < healthy[n] < switched[n + 1], (switched, started, healthy)
    assert [served(h) for h in hosts] == ["2.0.0"] * len(hosts)


def test_unhealthy_version_is_rolled_back_on_its_first_host_and_stops_the_rollout(app, tmp_path):
    path, hosts = app
    before = {h.name: untouched_state(h) for h in hosts[1:]}
    code, data = apply(path, tmp_path / "broken.json", "--var", "app_version=3.0.0", "--var", "app_broken=true")
    assert code == 1, json.dumps(data, indent=1)
    first_host, *rest = data["hosts"]
    assert (first_host["host"], first_host["status"]) == (hosts[0].name, "failed")
    assert "health check failed for 3.0.0" in first_host["error"]
    assert "rolled back to 2.0.0" in first_host["error"]
    assert [(h["host"], h["status"], h["steps"]) for h in rest] == [(h.name, "skipped", []) for h in hosts[1:]]
    leader = hosts[0]
    assert served(leader) == "2.0.0"
    assert http_get(leader.address, "/healthz")[0] == 200
    assert sh(leader, f"readlink {ROOT}/current").strip() == "releases/2.0.0"
    events = [event for _, event in deploy_log(leader)]
    assert "switch releases/2.0.0 -> releases/3.0.0" in events and events[-1].startswith("failed: health check failed")
    for host in hosts[1:]:
        assert untouched_state(host) == before[host.name]
        assert served(host) == "2.0.0"
        assert sh(host, f"test -e {ROOT}/releases/3.0.0 || echo absent").strip() == "absent"


def test_failed_release_is_pruned_first_then_old_ones_beyond_keep(app, tmp_path):
    path, hosts = app
    code, data = apply(path, tmp_path / "prune.json", "--var", "app_version=4.0.0")
    assert code == 0, json.dumps(data, indent=1)
    for host in hosts:  # keep 3: on the first host the failed 3.0.0 went, 1.0.0 stayed
        assert sorted(sh(host, f"ls {ROOT}/releases").split()) == ["1.0.0", "2.0.0", "4.0.0"], host.name
        assert served(host) == "4.0.0"
    keep_one = ("--var", "app_version=4.0.0", "--var", "app_keep_releases=1")
    code, data = apply(path, tmp_path / "keep1.json", *keep_one)
    assert code == 0, json.dumps(data, indent=1)
    assert changed_steps(data) == {h.name: [f"release[{APP}]"] for h in hosts}
    for host in hosts:
        assert sh(host, f"ls {ROOT}/releases").split() == ["4.0.0"], host.name
        assert served(host) == "4.0.0"
    code, data = apply(path, tmp_path / "again.json", "--detailed-exitcode", *keep_one)
    assert code == 0 and changed_steps(data) == {h.name: [] for h in hosts}
