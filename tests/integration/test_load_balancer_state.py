"""The load_balancer role keeps its servers' runtime state across reloads and restarts: a server drained on
node25 (with lb-server or by hand) stays out of the pool until it is put back, whoever reloads HAProxy."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from configurator.sandbox import run_in
from tests.integration.engine_helpers import changed_steps, sh
from tests.integration.test_load_balancer import APPS, BALANCER, CONFIG, Lab, converged, wait_for, workers

pytestmark = pytest.mark.integration

SOCKET = "/run/haproxy/api.sock"
STATE = "/var/lib/haproxy/server-state"


@pytest.fixture(scope="module")
def lab(sandbox, tmp_path_factory):
    return converged(sandbox, tmp_path_factory.mktemp("lb-state"))


def api(lab: Lab, command: str) -> None:
    """One command on the runtime API, which answers nothing when it worked."""
    assert sh(lab.balancer, f"printf '%s\\n' '{command}' | socat -t 5 - UNIX-CONNECT:{SOCKET}").strip() == ""


def answering(lab: Lab) -> str:
    """The pid of the worker that answers on the runtime API ("" while none does)."""
    info = sh(lab.balancer, f"printf 'show info\\n' | socat -t 5 - UNIX-CONNECT:{SOCKET}", check=False)
    return next((line.split(":")[1].strip() for line in info.splitlines() if line.startswith("Pid:")), "")


def reloaded_by(lab: Lab, action: Any) -> Any:
    """Runs `action` and waits until a new worker answers on the runtime API; returns what `action` did."""
    master = sh(lab.balancer, "systemctl show -p MainPID --value haproxy").strip()
    old = workers(lab, master) | {answering(lab)}
    done = action()
    assert wait_for(lambda: answering(lab) not in old | {""}, 20), (old, answering(lab))
    return done


def set_balancer(lab: Lab, *settings: str, **wanted: Any) -> dict[str, Any]:
    """`configure apply --limit node25` with `--var` settings; the configuration changes and HAProxy reloads."""
    code, data = lab.apply("--limit", BALANCER, *(a for s in settings for a in ("--var", s)), **wanted)
    assert code == 0, json.dumps(data, indent=1)
    assert changed_steps(data, ("changed",))[BALANCER] == [f"file[{CONFIG}]"], changed_steps(data)
    return data


def test_a_drained_server_stays_drained_across_reloads(lab):
    assert lab.tool("drain", "node26").returncode == 0
    reloaded_by(lab, lambda: set_balancer(lab, "lb_timeout_keep_alive=11s"))  # the role's own reload
    assert lab.states()["node26"] == "MAINT"
    assert wait_for(lambda: lab.states() == {"node26": "MAINT", "node27": "UP", "node28": "UP"}), lab.states()
    assert set(lab.served(20)) == {"node27", "node28"}
    api(lab, "set server app/node27 state maint")  # by hand: only the reload's own save keeps it
    reloaded_by(lab, lambda: sh(lab.balancer, "systemctl reload haproxy"))  # an operator's reload
    assert lab.states() == {"node26": "MAINT", "node27": "MAINT", "node28": "UP"}
    assert lab.tool("ready", "node26", "node27").returncode == 0
    reloaded_by(lab, lambda: set_balancer(lab))  # back to the inventory's configuration: node26 stays in
    assert lab.states() == {name: "UP" for name in APPS}
    assert set(lab.served(30)) == set(APPS)


def test_a_restart_keeps_the_state_that_was_current_when_it_stopped(lab):
    assert lab.tool("drain", "node26").returncode == 0
    sh(lab.balancer, "systemctl restart haproxy")
    assert wait_for(lambda: answering(lab) != ""), sh(lab.balancer, "systemctl status haproxy", check=False)
    assert lab.states()["node26"] == "MAINT"
    api(lab, "set server app/node26 state ready")  # by hand: the state file still says MAINT
    sh(lab.balancer, "systemctl restart haproxy")  # the stop saves the current state
    assert wait_for(lambda: answering(lab) != "")
    assert wait_for(lambda: lab.states() == {name: "UP" for name in APPS}), lab.states()


def test_the_state_file_is_roots_and_written_whole(lab):
    assert sh(lab.balancer, f"stat -c '%U %G %a' {STATE} /var/lib/haproxy").splitlines() == [
        "root root 600", "root root 755"]
    saved = sh(lab.balancer, f"cat {STATE}").splitlines()
    assert saved[0] == "1" and saved[1].startswith("# be_id be_name srv_id srv_name")
    assert sorted(line.split()[3] for line in saved[2:] if line) == APPS
    assert sh(lab.balancer, f"ls -A {Path(STATE).parent}").split() == ["dev", Path(STATE).name]  # no temp left


def test_a_first_start_without_a_state_file_and_a_reload_that_drops_a_server(lab):
    since = sh(lab.balancer, "date '+%Y-%m-%d %H:%M:%S'").strip()
    sh(lab.balancer, f"systemctl stop haproxy && rm -f {STATE} && systemctl start haproxy")
    assert wait_for(lambda: lab.states() == {name: "UP" for name in APPS}), lab.states()
    assert lab.tool("drain", "node27").returncode == 0
    # node28 leaves the configuration: the state saved before the reload names a server that is gone
    reloaded_by(lab, lambda: set_balancer(lab, "lb_backends=[{name: app, group: pool}]", pool=APPS[:2]))
    assert lab.states() == {"node26": "UP", "node27": "MAINT"}
    log = sh(lab.balancer, f"journalctl -u haproxy --since '{since}' --no-pager -o cat")
    assert "Can't open global server state file" in log  # the first start: a warning, no more
    assert "Server app/node27 is DOWN, changed from server-state after a reload" in log, log
    assert "node28" not in log.split("Can't open global server state file")[1], log  # skipped without a word
    reloaded_by(lab, lambda: set_balancer(lab))  # node28 is back, from the configuration
    assert wait_for(lambda: lab.states() == {"node26": "UP", "node27": "MAINT", "node28": "UP"}), lab.states()
    assert lab.tool("ready", "node27").returncode == 0


def test_a_failed_save_does_not_block_the_reload_nor_replace_the_state(lab):
    before = sh(lab.balancer, f"sha256sum {STATE}")
    since = sh(lab.balancer, "date '+%Y-%m-%d %H:%M:%S'").strip()
    sh(lab.balancer, "chmod g+w /var/lib/haproxy")  # the haproxy group could swap files there: no save
    try:
        reloaded_by(lab, lambda: sh(lab.balancer, "systemctl reload haproxy"))
    finally:
        sh(lab.balancer, "chmod g-w /var/lib/haproxy")
    assert sh(lab.balancer, f"sha256sum {STATE}") == before
    log = sh(lab.balancer, f"journalctl -u haproxy --since '{since}' --no-pager -o cat")
    assert "haproxy-save-state: /var/lib/haproxy is not root's alone (owner uid 0, mode 775)" in log, log
    assert lab.served(12) == {name: "1.0.0" for name in APPS}


def test_a_bad_configuration_still_blocks_a_reload(lab):
    sh(lab.balancer, f"cp -p {CONFIG} /root/haproxy.cfg.good && echo 'bogus directive' >> {CONFIG}")
    try:
        worker = answering(lab)
        refused = run_in(lab.balancer, ["systemctl", "reload", "haproxy"], capture_output=True, text=True, timeout=60)
        assert refused.returncode != 0
        time.sleep(1)
        assert answering(lab) == worker
    finally:
        sh(lab.balancer, f"mv /root/haproxy.cfg.good {CONFIG}")
    assert lab.served(12) == {name: "1.0.0" for name in APPS}
