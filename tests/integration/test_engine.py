"""The engine on real hosts: converge, idempotence, drift detection, one round trip when converged."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.engine_helpers import changed_steps, configure, etc_checksum, sh, write_inventory

pytestmark = pytest.mark.integration


RESET = """
export DEBIAN_FRONTEND=noninteractive
systemctl disable --now haproxy >/dev/null 2>&1  # the tour's balancer on node1 would hold nginx's port 80
apt-get -y -q purge nginx-light nginx-common tree less >/dev/null 2>&1 || true
userdel -r demo >/dev/null 2>&1; groupdel demo >/dev/null 2>&1
rm -rf /srv/demo /etc/cron.d/demo-cleanup /etc/nginx /etc/sysctl.d/60-configurator-* /etc/motd
echo 60 > /proc/sys/net/ipv4/tcp_fin_timeout
true
"""


@pytest.fixture(scope="module")
def demo(sandbox, tmp_path_factory):
    """Three hosts with the engine_demo role, applied once."""
    names = [h.name for h in sandbox.hosts[:3]]
    for host in sandbox.hosts[:3]:
        sh(host, RESET)
    path = tmp_path_factory.mktemp("engine") / "inventory.yml"
    write_inventory(sandbox, path, {"demo": {"hosts": names, "roles": ["engine_demo"]}})
    code, data = configure("apply", path, report=path.with_name("first.json"))
    return path, names, code, data


def hosts_by_name(sandbox, names):
    return [h for h in sandbox.hosts if h.name in names]


def test_first_apply_converges_three_hosts(sandbox, demo):
    path, names, code, data = demo
    assert code == 0, data
    assert {h["host"] for h in data["hosts"]} == set(names)
    for entry in data["hosts"]:
        assert entry["status"] == "changed"
        assert len(entry["steps"]) >= 15
        assert len({s["resource"].split("[")[0] for s in entry["steps"]}) >= 8
    for host in hosts_by_name(sandbox, names):
        assert "install ok installed" in sh(host, "dpkg-query -W -f='${Status}' nginx-light tree less")
        assert sh(host, "systemctl is-active nginx").strip() == "active"
        assert sh(host, "systemctl is-enabled nginx").strip() == "enabled"
        assert sh(host, "getent passwd demo").split(":")[5] == "/home/demo"
        assert sh(host, "stat -c '%a %U %G' /srv/demo").split() == ["750", "root", "demo"]
        assert sh(host, "cat /srv/demo/conf/static.txt") == "static content\n"
        assert f"host = {host.name}\n" in sh(host, "cat /srv/demo/conf/app.conf")
        assert sh(host, "stat -c '%a %G' /srv/demo/conf/app.conf").split() == ["640", "demo"]
        assert sh(host, "readlink /etc/nginx/sites-enabled/demo").strip() == "/etc/nginx/sites-available/demo"
        assert sh(host, "test -e /etc/nginx/sites-enabled/default || echo gone").strip() == "gone"
        assert "mode=prod" in sh(host, "cat /srv/demo/conf/settings").splitlines()
        assert sh(host, "cat /proc/sys/net/ipv4/tcp_fin_timeout").strip() == "30"
        assert "17 3 * * * root" in sh(host, "cat /etc/cron.d/demo-cleanup")
        assert sh(host, "test -s /srv/demo/built && echo built").strip() == "built"
        assert sh(host, "cat /etc/motd") == f"hello from configurator on {host.name}\n"
        # the handler ran: nginx serves the demo site, not the default one
        assert sh(host, "cat /proc/net/tcp | grep -c ':0050 '").strip() != "0"


def test_reports_match_the_documented_json_schema(demo):
    import json

    import jsonschema

    schema = json.loads((Path(__file__).resolve().parents[2] / "docs" / "json-schema.json").read_text())
    jsonschema.validate(demo[3], schema)  # the first, converging run: every kind of step


def test_second_apply_changes_nothing_in_one_round_trip(demo, tmp_path):
    path, names, _, _ = demo
    code, data = configure("apply", path, "--detailed-exitcode", report=tmp_path / "second.json")
    assert code == 0, data
    assert changed_steps(data) == {n: [] for n in names}
    for entry in data["hosts"]:
        assert entry["status"] == "ok"
        assert entry["round_trips"] == 1, entry


def test_check_names_exactly_the_drift_and_writes_nothing(sandbox, demo, tmp_path):
    path, names, _, _ = demo
    target = hosts_by_name(sandbox, names[1:2])[0]
    sh(target, "echo tampered > /srv/demo/conf/static.txt; systemctl stop nginx; "
               "DEBIAN_FRONTEND=noninteractive apt-get -y -q purge tree >/dev/null")
    before = {h.name: etc_checksum(h) for h in hosts_by_name(sandbox, names)}
    code, data = configure("check", path, "--diff", report=tmp_path / "check.json")
    assert code == 2, data
    drift = changed_steps(data)
    assert drift == {n: [] for n in names} | {
        target.name: ["package[tree]", "file[/srv/demo/conf/static.txt]", "service[nginx]"]}
    assert {h.name: etc_checksum(h) for h in hosts_by_name(sandbox, names)} == before
    assert sh(target, "cat /srv/demo/conf/static.txt") == "tampered\n"
    step = next(s for h in data["hosts"] for s in h["steps"]
                if h["host"] == target.name and s["resource"] == "file[/srv/demo/conf/static.txt]")
    assert "-tampered" in step["diff"] and "+static content" in step["diff"]

    code, data = configure("apply", path, "--detailed-exitcode", report=tmp_path / "repair.json")
    assert code == 2, data
    assert changed_steps(data, ("changed",))[target.name] == drift[target.name]
    assert sh(target, "cat /srv/demo/conf/static.txt") == "static content\n"
    assert sh(target, "systemctl is-active nginx").strip() == "active"
    assert "install ok installed" in sh(target, "dpkg-query -W -f='${Status}' tree")


def test_nodelay_and_single_round_trip_through_transport(sandbox, demo):
    from configurator.engine import executor
    from configurator.model import inventory
    from configurator.model.catalog import build_catalog
    from configurator.model.variables import parse_cli_vars

    path, names, _, _ = demo
    inv = inventory.load(Path(path))
    catalog = build_catalog(inv.hosts[names[0]], inv, parse_cli_vars([]))
    result = executor.run_host(catalog, executor.Options(), lambda *a: None)
    assert result.status == "ok", result.error
    assert result.round_trips == 1
    assert result.nodelay is True
