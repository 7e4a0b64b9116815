"""`connection: local` on a real host: the tool installed inside node19 (offline, as test_install does)
converges that same machine through a local shell, with no SSH; a second run is one round trip.

Slow on a fresh sandbox (~1-3 min): install.sh fetches python3-venv through the proxy first.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

import pytest
import yaml

from configurator.connections import ssh
from configurator.errors import HostFailed
from configurator.model.inventory import load as load_inventory
from configurator.sandbox import Sandbox, SandboxHost, run_in
from tests.integration.engine_helpers import HERE, sh, write_inventory
from tests.integration.engine_helpers import configure as configure_here
from tests.integration.test_install import SOURCE, WHEELS, host_python, install, push, tree
from tests.unit.test_builtin_roles import tracked_copy

pytestmark = pytest.mark.integration
NODE = "node19"
ROOT = "/srv/local-demo"
WORK = "/root/local-connection"


@pytest.fixture(scope="module")
def installed(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> SandboxHost:
    """node19 with the tool installed offline (scripts/install.sh --wheels) and an inventory of itself."""
    host = sandbox.host(NODE)
    folder = tmp_path_factory.mktemp("local-wheels")
    frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--all", "--exclude-editable"],
                            capture_output=True, text=True, check=True).stdout
    (folder / "requirements.txt").write_text(frozen)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                    "--only-binary=:all:", "--python-version", host_python(host), "-d", str(folder),
                    "-r", str(folder / "requirements.txt")], check=True, timeout=600)
    sh(host, f"rm -rf {SOURCE} {WHEELS} {WORK} {ROOT}")
    push(host, tree(tracked_copy(folder.parent / "checkout")), SOURCE)
    push(host, tree(folder), WHEELS)
    done = install(host, "--wheels", WHEELS)
    assert done.returncode == 0, done.stdout + done.stderr
    inventory = {"roles_path": [f"{WORK}/roles"], "hosts": {"here": {"connection": "local"}},
                 "groups": {"demo": {"hosts": ["here"], "roles": ["local_demo"]}}}
    (folder / "inventory.yml").write_text(yaml.safe_dump(inventory, sort_keys=False))
    push(host, {"inventory.yml": folder / "inventory.yml",
                "roles/local_demo/role.yml": HERE / "roles" / "local_demo" / "role.yml"}, WORK)
    return host


def configure(host: SandboxHost, *argv: str) -> tuple[int, dict[str, Any], str]:
    """`configure ARGV --json` inside the host (no SSH anywhere); exit code, report, output."""
    sh(host, f"rm -f {WORK}/report.json")
    done = run_in(host, ["configure", *argv, "--json", f"{WORK}/report.json"], capture_output=True, text=True,
                  timeout=300)
    report = json.loads(sh(host, f"cat {WORK}/report.json"))
    return done.returncode, report, done.stdout + done.stderr


def statuses(report: dict[str, Any]) -> list[str]:
    return [s["status"] for h in report["hosts"] for s in h["steps"]]


def test_apply_over_the_local_connection_converges_then_costs_one_round_trip(installed):
    sh(installed, f"mkdir -p {ROOT} && echo stale > {ROOT}/old.txt && echo mode=ssh > {ROOT}/settings")
    code, report, output = configure(installed, "apply", f"{WORK}/inventory.yml")
    assert code == 0, output
    assert statuses(report).count("changed") == 3, report  # the file, the line and the removal
    assert sh(installed, f"cat {ROOT}/motd") == "converged by here\n"
    assert sh(installed, f"cat {ROOT}/settings") == "mode=local\n"
    assert sh(installed, f"test -e {ROOT}/old.txt || echo gone").strip() == "gone"
    assert sh(installed, "stat -c '%u %a' /var/lib/configurator").strip() == "0 700"

    code, report, output = configure(installed, "apply", f"{WORK}/inventory.yml")
    assert code == 0, output
    assert "changed" not in statuses(report) and report["hosts"][0]["round_trips"] == 1, report


def test_check_with_the_connection_option_reports_a_drifted_file(installed):
    """--connection local also reaches a host the inventory would reach over SSH."""
    over_ssh = yaml.safe_load(sh(installed, f"cat {WORK}/inventory.yml"))
    # over SSH (no key, no known_hosts) this host would be unreachable: only the option makes the run work
    over_ssh["hosts"] = {"here": {"address": installed.address}}
    text = yaml.safe_dump(over_ssh, sort_keys=False)
    run_in(installed, ["sh", "-c", f"cat > {WORK}/ssh-inventory.yml"], input=text, text=True, check=True)
    sh(installed, f"echo changed-by-hand > {ROOT}/motd")
    code, report, output = configure(installed, "check", f"{WORK}/ssh-inventory.yml", "--connection", "local")
    assert code == 2, output
    assert statuses(report).count("pending") == 1, report
    assert sh(installed, f"cat {ROOT}/motd") == "changed-by-hand\n"  # check writes nothing
    code, report, output = configure(installed, "apply", f"{WORK}/ssh-inventory.yml", "--connection", "local")
    assert code == 0 and sh(installed, f"cat {ROOT}/motd") == "converged by here\n", output


def test_the_state_directory_must_still_be_roots_own(installed):
    """The local shell runs the same state check as over SSH: nothing is changed on a refused host."""
    sh(installed, f"mkdir -p {ROOT} && echo by-hand > {ROOT}/motd && chmod 0775 /var/lib/configurator")
    try:
        code, report, output = configure(installed, "apply", f"{WORK}/inventory.yml")
        assert code == 1, output
        assert "must be root's directory with mode 0700" in report["hosts"][0]["error"], report
        assert sh(installed, f"cat {ROOT}/motd") == "by-hand\n"
    finally:
        sh(installed, "chmod 0700 /var/lib/configurator")




def test_the_same_role_over_ssh_converges_the_same_way(sandbox, installed, tmp_path):
    """The SSH session shares the local one's framing: the same steps, and one round trip once converged."""
    sh(installed, f"rm -rf {ROOT}")
    groups = {"demo": {"hosts": [NODE], "roles": ["local_demo"]}}
    inventory = write_inventory(sandbox, tmp_path / "inventory.yml", groups)
    code, report = configure_here("apply", inventory, report=tmp_path / "first.json")
    assert code == 0 and report is not None, report
    assert statuses(report) == ["changed", "changed", "changed", "ok"], report
    assert sh(installed, f"cat {ROOT}/motd") == f"converged by {NODE}\n"
    code, report = configure_here("apply", inventory, report=tmp_path / "again.json")
    assert code == 0 and report is not None and report["hosts"][0]["round_trips"] == 1, report


def test_over_ssh_a_timeout_and_an_abort_end_the_step_and_files_are_staged_over_sftp(sandbox, installed, tmp_path):
    host = load_inventory(write_inventory(sandbox, tmp_path / "inventory.yml", {"g": {"hosts": [NODE]}})).hosts[NODE]
    session = ssh.connect(host)
    try:
        with pytest.raises(HostFailed, match="timed out after 1s"):
            session.run("setsid sleep 301 & wait", timeout=1)
    finally:
        session.close()
    abort = threading.Event()
    session = ssh.connect(host, abort=abort)
    timer = threading.Timer(1.0, abort.set)
    timer.start()
    try:
        with pytest.raises(HostFailed, match=r"interrupted: the running step was stopped"):
            session.run("sleep 302", timeout=60)
    finally:
        timer.cancel()
        session.close()
    assert "sleep 30" not in sh(installed, "ps -eo args")

    (tmp_path / "big").write_bytes(b"x" * 300_000)
    session = ssh.connect(host)
    try:
        remote = session.put(str(tmp_path / "big"))
        seen = sh(installed, f"stat -c '%s %a' {remote} $(dirname {remote})").split()
        assert seen == ["300000", "644", "4096", "700"]  # the file whole, in a private folder
        session.unstage()
        assert sh(installed, f"test -e $(dirname {remote}) || echo gone").strip() == "gone"
    finally:
        session.close()
