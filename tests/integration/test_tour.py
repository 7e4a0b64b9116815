"""The README's five-minute tour, step by step, on node1..node3 with inventories/sandbox.yml."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from tests.integration.engine_helpers import configure, sh

pytestmark = pytest.mark.integration
INVENTORY = Path(__file__).resolve().parents[2] / "inventories" / "sandbox.yml"


@pytest.fixture(scope="module")
def tour_hosts(sandbox):
    hosts = sandbox.hosts[:3]
    for host in hosts:  # other tests' sites on these hosts would clash with the demo's default server
        sh(host, "rm -f /etc/nginx/sites-enabled/demo; systemctl restart nginx 2>/dev/null; true")
    yield hosts
    # the demo runs a DHCP server on the shared test bridge: leave none answering; and its balancer holds
    # node1's port 80, which the engine tests' nginx on the same host needs
    sh(hosts[0], "systemctl stop kea-dhcp4-server 2>/dev/null; systemctl disable --now haproxy 2>/dev/null; true")


def test_the_tour(tour_hosts, tmp_path):
    node1, node2, node3 = tour_hosts
    assert configure("hosts", INVENTORY)[0] == 0
    code, data = configure("apply", INVENTORY, report=tmp_path / "apply.json")
    assert code == 0, data
    code, data = configure("apply", INVENTORY, "--detailed-exitcode", report=tmp_path / "again.json")
    assert code == 0 and all(h["status"] == "ok" and h["round_trips"] == 1 for h in data["hosts"]), data
    assert sh(node2, "python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1/version')"
                     ".read().decode())\"").strip() == "1.0.0"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # through the balancer on node1
    assert opener.open(f"http://{node1.address}/version", timeout=10).read().decode().strip() == "1.0.0"

    sh(node2, "systemctl stop nginx")
    code, data = configure("check", INVENTORY, report=tmp_path / "check.json")
    assert code == 2
    pending = {h["host"]: [s["resource"] for s in h["steps"] if s["status"] == "pending"] for h in data["hosts"]}
    assert pending == {node1.name: [], node2.name: ["service[nginx]"], node3.name: []}

    assert configure("verify", INVENTORY, "--limit", node2.name)[0] == 4
    reports = tmp_path / "reports"
    assert configure("drift", INVENTORY, "--report", reports)[0] == 2
    assert "service[nginx]" in (reports / "drift.md").read_text()
    assert configure("apply", INVENTORY)[0] == 0
    assert sh(node2, "systemctl is-active nginx").strip() == "active"
    assert configure("verify", INVENTORY)[0] == 0
    assert configure("drift", INVENTORY, "--report", reports)[0] == 0
    assert json.loads((reports / "drift.json").read_text())
