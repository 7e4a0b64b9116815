"""The sandbox itself: hosts boot with systemd, answer SSH, install packages, stay confined."""

from __future__ import annotations

import os
import signal
import socket
import time
import urllib.request
from pathlib import Path

import paramiko
import pytest
import yaml

from configurator.sandbox import (
    Sandbox,
    SandboxError,
    down,
    layout,
    lease,
    load,
    network,
    process,
    run_in,
    status,
    teardown,
    up,
)
from configurator.sandbox.layout import BRIDGE, GATEWAY, PROXY_PORT
from tests.integration.conftest import needs_root_reason

IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")
IP_FORWARD_BEFORE = IP_FORWARD.read_text() if IP_FORWARD.exists() else None


def ssh(box: Sandbox, address: str, known_hosts: Path | None = None) -> paramiko.SSHClient:
    """Connect as root with the sandbox key, rejecting any host key not in known_hosts."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts or box.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        address, username="root", key_filename=str(box.key_path), look_for_keys=False, allow_agent=False, timeout=10
    )
    return client


def run(client: paramiko.SSHClient, command: str, timeout: float = 60) -> tuple[int, str]:
    """Run a command over SSH; return exit status and combined output."""
    _, stdout, stderr = client.exec_command(command, timeout=timeout)
    out = stdout.read().decode() + stderr.read().decode()
    return stdout.channel.recv_exit_status(), out


def sandbox_running() -> bool:
    """Tell whether some sandbox network exists on this machine."""
    return BRIDGE in network.link_names()


def make_room_for_a_private_sandbox() -> None:
    """One sandbox per machine: take down a shared one no test session holds (it boots again in seconds)."""
    if not sandbox_running():
        return
    if lease.holders(layout.state_dir(None) / lease.LEASES):
        pytest.fail("another test session is using the sandbox; run this test when it has finished",
                    pytrace=False)
    down()


def test_crash_recovery_and_down_leave_nothing_behind(tmp_path):
    reason = needs_root_reason()
    if reason:
        pytest.fail(reason, pytrace=False)
    make_room_for_a_private_sandbox()
    box = up(hosts=1, state_dir=tmp_path)
    os.kill(box.hosts[0].pid, signal.SIGKILL)  # a crashed host
    assert process.wait_gone(box.hosts[0].init, 5)
    grown = up(hosts=2, state_dir=tmp_path)
    assert [h.name for h in grown.hosts] == ["node1", "node2"]
    assert grown.hosts[0].pid != box.hosts[0].pid
    assert all(s.ssh and s.system_state == "running" for s in status(tmp_path))
    plan = teardown.observed_plan(load(tmp_path))
    down(state_dir=tmp_path)
    assert teardown.leftovers(plan) == []
    assert not any(process.alive(h.launcher) for h in grown.hosts)
    assert BRIDGE not in network.link_names()
    assert not (tmp_path / "hosts").exists() and (tmp_path / "id_ed25519").exists()


def test_each_host_answers_ssh_with_strict_host_keys(sandbox):
    assert len(sandbox.hosts) >= 3
    for host in sandbox.hosts[:3]:
        with ssh(sandbox, host.address) as client:
            assert run(client, "hostname") == (0, host.name + "\n")
            assert run(client, "systemctl is-system-running --wait")[1].strip() == "running"


def test_unknown_host_key_is_rejected(sandbox, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(paramiko.SSHException):
        ssh(sandbox, sandbox.hosts[0].address, known_hosts=empty)


def test_systemd_is_pid_1_in_each_host(sandbox):
    for host in sandbox.hosts:
        comm = run_in(host, ["cat", "/proc/1/comm"], capture_output=True, text=True, check=True)
        assert comm.stdout.strip() == "systemd"


def test_status_reports_every_host(sandbox):
    rows = {r.name: r for r in status()}
    for host in sandbox.hosts:
        row = rows[host.name]
        assert (row.address, row.ssh, row.system_state) == (host.address, True, "running"), row


def test_inventory_lists_the_hosts(sandbox):
    data = yaml.safe_load(sandbox.inventory_path.read_text())
    assert data["ssh"] == {"user": "root", "identity": str(sandbox.key_path), "known_hosts": str(sandbox.known_hosts)}
    for host in sandbox.hosts:
        assert data["hosts"][host.name] == {"address": host.address}
        assert host.name in data["groups"]["sandbox"]["hosts"]


def test_up_again_keeps_running_hosts(sandbox):
    again = {h.name: h.pid for h in up(hosts=len(sandbox.hosts)).hosts}
    assert {h.name: again.get(h.name) for h in sandbox.hosts} == {h.name: h.pid for h in sandbox.hosts}


@pytest.fixture(scope="module")
def own_host(sandbox):
    """A host added for this module alone; the others are allocated to other test areas."""
    index = max(h.index for h in sandbox.hosts) + 1
    return up(hosts=index).host(f"node{index}")


def test_package_install_through_the_proxy_serves_http(sandbox, own_host):
    host = own_host
    with ssh(sandbox, host.address) as client:
        code, out = run(client, "apt-get update -q", timeout=300)
        assert code == 0, out
        install = "DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light"
        code, out = run(client, install, timeout=600)
        assert code == 0, out
        assert run(client, "systemctl is-active nginx")[1].strip() == "active"
    with urllib.request.urlopen(f"http://{host.address}/", timeout=10) as response:
        assert response.status == 200


def test_hosts_route_only_to_the_bridge(sandbox):
    for host in sandbox.hosts:
        routes = run_in(host, ["ip", "-4", "route"], capture_output=True, text=True, check=True)
        assert sorted(routes.stdout.split("\n")[:-1]) == [
            f"198.18.0.0/24 dev eth0 proto kernel scope link src {host.address} ",
            f"default via {GATEWAY} dev eth0 ",
        ]
    assert IP_FORWARD_BEFORE is None or IP_FORWARD.read_text() == IP_FORWARD_BEFORE


def test_machine_accepts_only_the_proxy_port_from_hosts(sandbox, own_host):
    listener = socket.create_server((GATEWAY, 0))
    port = listener.getsockname()[1]
    try:
        probe = f"exec 3<>/dev/tcp/{GATEWAY}/{{port}} && echo open"
        with ssh(sandbox, own_host.address) as client:
            assert run(client, f"timeout 5 bash -c '{probe.format(port=PROXY_PORT)}'")[0] == 0
            started = time.monotonic()
            code, _ = run(client, f"timeout 2 bash -c '{probe.format(port=port)}'")
            assert code != 0 and time.monotonic() - started >= 1.5  # dropped, not refused
    finally:
        listener.close()


def test_run_in_refuses_a_host_that_is_not_running(sandbox):
    gone = sandbox.hosts[0].__class__(name="nodeX", address="198.18.0.250", pid=0, veth="x")
    with pytest.raises(SandboxError):
        run_in(gone, ["true"])
