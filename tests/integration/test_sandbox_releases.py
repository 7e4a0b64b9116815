"""Sandbox hosts of other Debian releases (node29 bullseye, node30 trixie): they boot, say so, answer SSH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import paramiko
import pytest

from configurator.sandbox import Sandbox, SandboxHost, cgroup, up
from configurator.sandbox.capacity import PER_RELEASE, process_instances
from tests.integration.conftest import SANDBOX_HOSTS, SANDBOX_RELEASES
from tests.integration.engine_helpers import sh

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MINE = {"node29": ("bullseye", "11"), "node30": ("trixie", "13")}


def os_release(host: SandboxHost) -> dict[str, str]:
    text = sh(host, "cat /etc/os-release")
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def ssh_run(sandbox: Sandbox, host: SandboxHost, command: str) -> str:
    """Run a command over a real SSH connection as root, with strict host-key checking."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(sandbox.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(host.address, username="root", key_filename=str(sandbox.key_path), look_for_keys=False,
                   allow_agent=False, timeout=10, banner_timeout=10, auth_timeout=10)
    with client:
        _, out, _ = client.exec_command(command, timeout=30)
        text = out.read().decode()
        assert out.channel.recv_exit_status() == 0, text
    return text


def inotify_instances(host: SandboxHost) -> int:
    """The inotify instances root's processes in the host hold (what counts against the machine's limit)."""
    return sum(process_instances(Path(f"/proc/{pid}/fd")) for pid in cgroup.pids(host.cgroup))


@pytest.mark.parametrize("name", sorted(MINE))
def test_the_host_runs_its_release(sandbox, name):
    release, version = MINE[name]
    assert SANDBOX_RELEASES[name] == release
    host = sandbox.host(name)
    assert host.release == release
    found = os_release(host)
    assert (found["VERSION_CODENAME"], found["VERSION_ID"].strip('"')) == (release, version)
    assert sh(host, "systemctl is-system-running --wait", check=False).strip() == "running", sh(
        host, "systemctl --failed --no-legend", check=False)


@pytest.mark.parametrize("name", sorted(MINE))
def test_ssh_reaches_the_host_with_its_recorded_key(sandbox, name):
    host = sandbox.host(name)
    assert ssh_run(sandbox, host, "hostname; . /etc/os-release; echo $VERSION_CODENAME").split() == [
        name, MINE[name][0]]


def test_sandbox_status_shows_each_hosts_release(sandbox):
    done = subprocess.run([sys.executable, "-m", "configurator.cli", "sandbox", "status"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    rows = {line.split("\t")[0]: line.split("\t") for line in done.stdout.splitlines()}
    for name, (release, _) in MINE.items():
        assert rows[name][2:4] == [release, "ssh ok"], rows[name]
    # a default host, found by its record rather than named: naming it would tie this file to that host's tests
    default = next(h for h in sandbox.hosts if h.name not in SANDBOX_RELEASES)
    assert rows[default.name][2] == "bookworm"


@pytest.mark.parametrize("name", sorted(MINE))
def test_the_host_holds_no_more_inotify_instances_than_counted(sandbox, name):
    host = sandbox.host(name)
    sh(host, "systemctl is-system-running --wait", check=False)
    assert inotify_instances(host) <= PER_RELEASE[host.release]


def test_a_host_of_another_release_is_booted_again_on_the_one_asked_for(sandbox):
    before = sandbox.host("node30")
    try:
        changed = up(hosts=SANDBOX_HOSTS, releases={**SANDBOX_RELEASES, "node30": "bullseye"}).host("node30")
        assert changed.release == "bullseye" and changed.init != before.init
        assert os_release(changed)["VERSION_CODENAME"] == "bullseye"
        assert ssh_run(sandbox, changed, ". /etc/os-release; echo $VERSION_CODENAME").strip() == "bullseye"
    finally:
        back = up(hosts=SANDBOX_HOSTS, releases=SANDBOX_RELEASES).host("node30")
    assert back.release == "trixie" and os_release(back)["VERSION_CODENAME"] == "trixie"
    # the other hosts were left running as they were
    assert up(hosts=SANDBOX_HOSTS, releases=SANDBOX_RELEASES).host("node29").init == sandbox.host("node29").init
    assert os.path.exists(f"/proc/{back.pid}")
