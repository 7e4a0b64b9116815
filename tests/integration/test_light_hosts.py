"""Light sandbox hosts: 20 sshd-only hosts booted, configured, converged in one round trip, removed cleanly.

The full hosts (node1..) are never touched: the test checks that their processes are the same
before and after the light hosts come and go.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from configurator.sandbox import Sandbox, light_state, load, network, process
from configurator.sandbox.addressing import VETH_PREFIX
from configurator.sandbox.light import pss_kib
from configurator.sandbox.light_state import LightHost
from configurator.sandbox.light_teardown import NETNS_DIR, cgroup_dir
from configurator.sandbox.light_up import down_light, up_light
from configurator.sandbox.status import status
from tests.integration.engine_helpers import HERE, changed_steps, configure, ssh_settings

pytestmark = pytest.mark.integration

COUNT = 20
MIB_A_HOST = 8  # an idle light host measured about 1.3 MiB of PSS; a bound well above it


@pytest.fixture(scope="module")
def light(sandbox: Sandbox) -> Iterator[tuple[LightHost, ...]]:
    """light1..light20, removed again at the end (only them)."""
    full = full_hosts(sandbox.state_dir)
    down_light()  # light hosts a benchmark left: this test counts exactly its own
    done = up_light(COUNT)
    try:
        yield done.hosts
    finally:
        down_light()
        assert full_hosts(sandbox.state_dir) == full


def full_hosts(state_dir: Path) -> tuple[list[str], set[str]]:
    """The recorded full hosts and the veths on the machine that are theirs (other tests may reboot them)."""
    recorded = load(state_dir)
    names = [h.name for h in recorded.hosts] if recorded else []
    return names, {link for link in network.link_names() if link.startswith(VETH_PREFIX)}


def in_host(host: LightHost, script: str) -> str:
    """Run a shell snippet inside a light host (its namespaces and root); return stdout."""
    argv = ["nsenter", "-t", str(host.pid), "-m", "-u", "-i", "-n", "-p", "-r", "-w", "--", "sh", "-c", script]
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout


def namespace(host: LightHost, kind: str) -> str:
    return str(Path(f"/proc/{host.pid}/ns/{kind}").readlink())


def inventory(sandbox: Sandbox, hosts: tuple[LightHost, ...], path: Path) -> Path:
    data = {
        "ssh": ssh_settings(sandbox),
        "roles_path": [str(HERE / "roles")],
        "hosts": {h.name: {"address": h.address, "port": h.port} for h in hosts},
        "groups": {"light": {"hosts": [h.name for h in hosts], "roles": ["light_demo"]}},
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_each_light_host_has_its_own_sshd_key_and_namespaces(light):
    assert [h.name for h in light] == [f"light{i}" for i in range(1, COUNT + 1)]
    assert all(process.alive(h.init) for h in light)
    for kind in ("pid", "mnt", "net", "uts"):
        assert len({namespace(h, kind) for h in light}) == COUNT, kind
    keys = {in_host(h, "cat /etc/ssh/ssh_host_ed25519_key.pub").split()[1] for h in light}
    assert len(keys) == COUNT
    assert in_host(light[3], "hostname; ps -eo comm=").split() == ["light4", "sshd", "sh", "ps"]
    assert pss_kib() < COUNT * MIB_A_HOST * 1024


def test_status_and_inventory_name_the_light_hosts(sandbox, light):
    rows = {r.name: r for r in status()}
    assert all(rows[h.name].ssh and rows[h.name].kind == "light" for h in light)
    data = yaml.safe_load(sandbox.inventory_path.read_text())
    assert data["groups"]["light"]["hosts"] == [h.name for h in light]
    assert data["hosts"]["light20"] == {"address": light[19].address, "port": light[19].port}


def test_apply_configures_every_light_host_then_converges_in_one_round_trip(sandbox, light, tmp_path):
    path = inventory(sandbox, light, tmp_path / "inventory.yml")
    code, first = configure("apply", path, "--forks", "20", report=tmp_path / "first.json")
    assert code == 0, first
    assert all(len(steps) == 6 for steps in changed_steps(first, ("changed",)).values()), first
    for host in (light[0], light[-1]):
        assert in_host(host, "cat /srv/light/conf/app.conf") == f"# on {host.name}\nname = {host.name}\n"
        assert in_host(host, "stat -c '%a %U' /srv/light/conf/app.conf; cat /srv/light/settings") == (
            "640 lightuser\nmode=prod\n")
    code, second = configure("apply", path, "--forks", "20", "--detailed-exitcode", report=tmp_path / "second.json")
    assert code == 0, second
    assert changed_steps(second) == {h.name: [] for h in light}
    assert [e["round_trips"] for e in second["hosts"]] == [1] * COUNT


def test_removing_the_light_hosts_leaves_nothing_behind(sandbox, light):
    down_light()
    assert not any(process.alive(h.init) or process.alive(h.launcher) for h in light)
    assert not cgroup_dir().exists()
    assert not [p for p in NETNS_DIR.glob("cfgl-*")] if NETNS_DIR.exists() else True
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    assert "cfgl-" not in links
    assert "/light/" not in Path("/proc/self/mountinfo").read_text()
    assert "cfgl-" not in Path("/proc/self/mountinfo").read_text()
    assert light_state.load(sandbox.state_dir) == ()
    data = yaml.safe_load(sandbox.inventory_path.read_text())
    assert "light" not in data["groups"] and not any(n.startswith("light") for n in data["hosts"])
    assert not any(r.kind == "light" for r in status())
