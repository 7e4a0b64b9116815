"""The load_balancer role on node25 in front of app_runtime on node26-28: served through HAProxy, a
DNS name for the service, `lb-server drain|ready` on the runtime API, reloads that keep open
connections, a refused configuration; then rolling releases under real traffic with no failed request.
(Servers drained across reloads and restarts: test_load_balancer_state.py.)"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from configurator.sandbox import run_in
from tests.integration.engine_helpers import configure, sh, write_inventory
from tests.integration.traffic import SHOW, Load, Watch

pytestmark = pytest.mark.integration

BALANCER = "node25"
APPS = ["node26", "node27", "node28"]
CONFIG = "/etc/haproxy/haproxy.cfg"
TOOL = "/usr/local/sbin/lb-server"


class Lab:
    """node25 balances (and serves the `app` name in DNS), node26-28 run the sample app."""

    def __init__(self, sandbox: Any, folder: Path) -> None:
        self.sandbox, self.folder, self.runs = sandbox, folder, 0
        self.balancer = sandbox.host(BALANCER)
        self.apps = [sandbox.host(n) for n in APPS]

    def inventory(self, version: str = "1.0.0", broken: bool = False, pool: list[str] | None = None) -> Path:
        """The apps roll out one host at a time after the balancer, each batch drained on it first; `pool`
        is a group of app hosts without roles, for a backend with fewer servers."""
        records = [{"name": "app", "type": "CNAME", "value": BALANCER}]
        hooks = {"before": [{"on": BALANCER, "run": f"{TOOL} drain {{{{ batch | join(' ') }}}}", "timeout": 120}],
                 "after": [{"on": BALANCER, "run": f"{TOOL} ready {{{{ succeeded | join(' ') }}}}", "timeout": 120}]}
        apps = {"hosts": APPS, "roles": ["app_runtime"], "serial": 1, "max_fail": 0, "after": ["lb"],
                "batch_hooks": hooks,
                "vars": {"app_version": version, "app_broken": broken, "app_health_timeout": 10}}
        groups = {"lb": {"hosts": [BALANCER], "roles": ["dns", "load_balancer"], "vars": {"dns_records": records}},
                  "apps": apps, **({"pool": {"hosts": pool}} if pool else {})}
        return write_inventory(self.sandbox, self.folder / "inventory.yml", groups)

    def apply(self, *args: str, **wanted: Any) -> tuple[int, dict[str, Any]]:
        self.runs += 1
        code, data = configure("apply", self.inventory(**wanted), *args, report=self.folder / f"run{self.runs}.json")
        assert data is not None
        return code, data

    def tool(self, *args: str) -> subprocess.CompletedProcess[str]:
        """lb-server on the balancer: its exit code and output."""
        return run_in(self.balancer, [TOOL, *args], capture_output=True, text=True, timeout=120)

    def states(self) -> dict[str, str]:
        """server -> its status in HAProxy (UP, DRAIN, MAINT, DOWN...)."""
        return {p[1]: p[2] for p in (line.split() for line in sh(self.balancer, SHOW).splitlines()) if len(p) == 4}

    def served(self, count: int = 12) -> dict[str, str]:
        """host -> version, from `count` requests through the balancer on new connections."""
        with Load(self.balancer.address, rate=50, seconds=count / 50 + 5, limit=count) as load:
            deadline = time.monotonic() + count / 50 + 5
            while len(load.answers) < count and time.monotonic() < deadline:
                time.sleep(0.05)
        assert not load.failures(), load.failures()[:3]
        return {a.host: a.version for a in load.answers}


def wait_for(predicate: Any, seconds: float = 20.0) -> bool:
    """Polls `predicate` every 0.2 s for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return bool(predicate())


def converged(sandbox: Any, folder: Path) -> Lab:
    """The lab applied, every server UP."""
    lab = Lab(sandbox, folder)
    code, data = lab.apply()
    assert code == 0, json.dumps(data, indent=1)
    # a server left drained by an earlier session stays drained across reloads and restarts: put it back
    assert lab.tool("ready", *APPS).returncode == 0
    assert wait_for(lambda: set(lab.states().values()) == {"UP"}), lab.states()
    return lab


@pytest.fixture(scope="module")
def lab(sandbox, tmp_path_factory):
    return converged(sandbox, tmp_path_factory.mktemp("lb"))


def test_the_balancer_serves_every_app_host_and_has_a_dns_name(lab):
    assert lab.served(30) == {name: "1.0.0" for name in APPS}
    answer = sh(lab.balancer, "dig @127.0.0.1 +short +time=2 +tries=2 app.lab.example A").split()
    assert answer == [f"{BALANCER}.lab.example.", lab.balancer.address]


def test_a_converged_run_is_one_round_trip_a_host_and_verify_passes(lab):
    began = time.monotonic()
    code, data = lab.apply("--detailed-exitcode")
    took = time.monotonic() - began
    assert code == 0, json.dumps(data, indent=1)
    assert {(h["host"], h["status"], h["round_trips"]) for h in data["hosts"]} == {
        (n, "ok", 1) for n in [BALANCER, *APPS]}
    # nothing changes on the app hosts: no batch is drained, no session is opened to the balancer
    assert [(h["when"], h["status"]) for h in data["hooks"]] == [("before", "not needed"),
                                                                 ("after", "not needed")] * len(APPS)
    print(f"\nconverged run with the drain/ready hooks: {took:.2f} s; " + "; ".join(hook_lines(data)))
    assert configure("verify", lab.inventory())[0] == 0


def test_runtime_api_is_root_only(lab):
    assert sh(lab.balancer, "stat -c '%U %a %F' /run/haproxy/api.sock").split() == ["root", "600", "socket"]
    refused = sh(lab.balancer, "setpriv --reuid=haproxy --regid=haproxy --clear-groups "
                               "socat -t 2 - UNIX-CONNECT:/run/haproxy/api.sock </dev/null; echo $?")
    assert refused.strip().splitlines()[-1] != "0"
    done = run_in(lab.balancer, ["setpriv", "--reuid=haproxy", "--regid=haproxy", "--clear-groups", TOOL, "drain",
                                 "node26"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "run lb-server as root" in done.stderr, done.stderr
    assert lab.states()["node26"] == "UP"


def test_drain_takes_a_server_out_and_ready_puts_it_back(lab):
    done = lab.tool("drain", "node26")
    assert done.returncode == 0, done.stderr
    assert "node26: drained in" in done.stdout
    assert lab.states()["node26"] == "MAINT"
    assert set(lab.served(30)) == {"node27", "node28"}
    done = lab.tool("ready", "node26")
    assert done.returncode == 0, done.stderr
    assert lab.states()["node26"] == "UP"
    assert set(lab.served(30)) == set(APPS)


def test_drain_refuses_an_unknown_server_before_touching_any(lab):
    done = lab.tool("drain", "node26", "nosuch")
    assert done.returncode == 2 and "no server named nosuch" in done.stderr
    assert lab.states()["node26"] == "UP"
    assert lab.tool("ready").returncode == 0  # an empty batch: nothing to do
    assert lab.tool("bogus", "node26").returncode == 2


def test_drain_gives_up_after_its_timeout_while_a_request_is_open(lab):
    node26 = lab.apps[0]
    pid = sh(node26, "systemctl show -p MainPID --value sampleapp.service").strip()
    sh(node26, f"kill -STOP {pid}")  # requests that reach node26's app now hang until it is continued
    try:
        with Load(lab.balancer.address, rate=20, seconds=30, limit=6) as load:
            assert wait_for(lambda: "node26" in sessions(lab), 10), sh(lab.balancer, SHOW)
            done = lab.tool("-t", "2", "drain", "node26")
            assert done.returncode == 1
            assert "node26: sessions still open after 2 s, left in drain" in done.stderr, done.stderr
            assert lab.states()["node26"].startswith("DRAIN")  # no new sessions, the open one goes on
            sh(node26, f"kill -CONT {pid}")
        assert load.failures() == [] and "node26" in {a.host for a in load.answers}  # answered at last
    finally:
        sh(node26, f"kill -CONT {pid}")
    assert lab.tool("ready", "node26").returncode == 0


def sessions(lab: Lab) -> set[str]:
    """The servers that have a session open on the balancer."""
    return {p[1] for p in (line.split() for line in sh(lab.balancer, SHOW).splitlines())
            if len(p) == 4 and p[3] != "0"}


def test_ready_fails_clearly_when_the_server_stays_unhealthy(lab):
    node27 = lab.apps[1]
    assert lab.tool("drain", "node27").returncode == 0
    sh(node27, "systemctl stop sampleapp.service")
    try:
        done = lab.tool("-t", "3", "ready", "node27")
        assert done.returncode == 1
        assert "node27: not healthy after 3 s" in done.stderr, done.stderr
        assert lab.states()["node27"].startswith("DOWN")  # out of the pool until its checks pass
        assert set(lab.served(20)) == {"node26", "node28"}
    finally:
        sh(node27, "systemctl start sampleapp.service")
    assert wait_for(lambda: lab.states()["node27"] == "UP"), lab.states()


def workers(lab: Lab, master: str) -> set[str]:
    return set(sh(lab.balancer, f"pgrep -P {master} haproxy").split())


def test_a_reload_keeps_open_connections(lab):
    master = sh(lab.balancer, "systemctl show -p MainPID --value haproxy").strip()
    old = workers(lab, master)
    idle = http.client.HTTPConnection(lab.balancer.address, 80, timeout=10)
    idle.request("GET", "/version")
    assert idle.getresponse().read() == b"1.0.0\n"  # a keep-alive connection, idle from now on
    with socket.create_connection((lab.balancer.address, 80), timeout=10) as busy:
        busy.sendall(b"GET /version HTTP/1.1\r\nHost: app\r\n")  # a request not finished yet
        time.sleep(0.5)
        sh(lab.balancer, "systemctl reload haproxy")
        # a new worker serves new connections; the old one still holds these two
        assert wait_for(lambda: len(workers(lab, master) - old) == 1, 10), (old, workers(lab, master))
        busy.sendall(b"Connection: close\r\n\r\n")
        reply = b""
        while chunk := busy.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200") and reply.split(b"\r\n\r\n")[1] == b"1.0.0\n", reply
    idle.request("GET", "/version")
    answer = idle.getresponse()
    assert (answer.status, answer.read(), answer.getheader("connection")) == (200, b"1.0.0\n", "close")
    idle.close()
    assert sh(lab.balancer, "systemctl show -p MainPID --value haproxy").strip() == master
    assert wait_for(lambda: not old & workers(lab, master), 10)  # the old worker left once both were done


def test_a_refused_configuration_leaves_the_live_one_serving(lab):
    before = sh(lab.balancer, f"sha256sum {CONFIG}")
    code, data = lab.apply("--limit", BALANCER, "--var", "lb_timeout_client=banana")
    assert code == 1, json.dumps(data, indent=1)
    (host,) = data["hosts"]
    assert host["status"] == "failed" and "validation refused" in host["error"]
    assert "in 'timeout client'" in host["error"], host["error"]  # HAProxy's own message: what it refused
    assert sh(lab.balancer, f"sha256sum {CONFIG}") == before
    assert lab.served(12) == {name: "1.0.0" for name in APPS}


def rollout_under_traffic(lab: Lab, version: str, broken: bool = False) -> tuple[int, dict[str, Any], Load, Watch]:
    """`configure apply` of `version` with the drain/ready hooks while ~50 requests a second go through
    the balancer (bounded: 4 minutes, 12000 requests); prints the figures."""
    with Watch(lab.balancer, seconds=300) as watch, \
            Load(lab.balancer.address, rate=50, seconds=240, limit=12000) as load:
        time.sleep(2)  # traffic is flowing before the rollout starts
        began = time.monotonic()
        code, data = lab.apply(version=version, broken=broken)
        took = time.monotonic() - began
        time.sleep(2)
    failures = load.failures()
    print(f"\nrollout of {version}{' (broken)' if broken else ''}: exit {code} in {took:.1f} s; "
          f"{len(load.answers)} requests, {len(failures)} failed, versions {dict(load.versions())}; "
          f"out of the pool (s): {watch.out_of_pool()}")
    for line in hook_lines(data):
        print("  hook", line)
    for failure in failures[:5]:
        print("  failed:", failure)
    return code, data, load, watch


def hook_lines(data: dict[str, Any]) -> list[str]:
    """Each hook of a run's report: its batch, when, how long, and the first line lb-server printed."""
    stamp = datetime.fromisoformat
    return [f"{h['batch']} {h['when']} {(stamp(h['ended']) - stamp(h['started'])).total_seconds():.2f} s "
            f"{h['status']}: {h['output'].strip().splitlines()[0] if h['output'].strip() else ''}"
            for h in data["hooks"]]


def direct_version(host: Any) -> str:
    """The version a host's nginx serves, asked on the host itself (not through the balancer)."""
    return sh(host, "python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1/version')"
                    ".read().decode())\"").strip()


def test_a_rolling_release_under_traffic_fails_no_request(lab):
    code, data, load, watch = rollout_under_traffic(lab, "2.0.0")
    assert code == 0, json.dumps(data, indent=1)
    assert load.failures() == []
    assert set(load.versions()) == {"1.0.0", "2.0.0"}
    assert load.served_last(2) == {name: "2.0.0" for name in APPS}
    drained = watch.out_of_pool()
    assert all(drained[name] > 0 for name in APPS), drained  # each host was taken out, one at a time
    assert lab.states() == {name: "UP" for name in APPS}


def test_a_broken_release_under_traffic_fails_no_request_and_stops(lab):
    code, data, load, _ = rollout_under_traffic(lab, "3.0.0", broken=True)
    assert code == 1, json.dumps(data, indent=1)
    assert {h["host"]: h["status"] for h in data["hosts"]} == {
        BALANCER: "ok", "node26": "failed", "node27": "skipped", "node28": "skipped"}
    assert load.failures() == []
    assert set(load.versions()) == {"2.0.0"}
    assert [direct_version(host) for host in lab.apps] == ["2.0.0"] * 3  # rolled back on node26
    assert lab.states() == {"node26": "MAINT", "node27": "UP", "node28": "UP"}  # out until a good release
