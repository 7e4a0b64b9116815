"""Integration tests run against the sandbox: real Debian hosts on this machine (root only)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from configurator.sandbox import Sandbox, down, lease, up
from tests.integration import groups

HERE = Path(__file__).resolve().parent
# node1-3 engine, node4-5 DNS/DHCP, node6-8 app runtime, node9-10 verify/drift, node11-12 base and faults,
# node13-14 user-writable directories, node15 output and interrupts, node16 names and secrets,
# node17-18 installing the tool itself, node19 the local connection, node20 resource plugins,
# node21 the template context, node22-24 rolling groups and batch hooks, node25-28 the load balancer
# and its apps, node29-30 sandbox releases, node31-34 apt sources and packages (node31 serves the
# repository), node35-37 mounts, units and reboots, node38-41 firewall, git and downloads (node38
# serves them), node42 host keys and other inventories, node43-44 tags, saved plans, drift and check mode's foresight,
# node45-48 the built-in roles on trixie (node45 base, node46-47 DNS/DHCP server and client, node48 app runtime),
# node49-50 first contact (bootstrap, --wait), node51-53 ad-hoc commands, node54-57 sharded runs,
# node58-59 round trips of a first run, node60-61 a fresh trixie host with every new resource (node61 serves)
SANDBOX_HOSTS = 61
# hosts that run another Debian release than the default (bookworm)
SANDBOX_RELEASES = {
    "node29": "bullseye", "node30": "trixie",
    "node33": "bullseye", "node34": "trixie",
    "node36": "bullseye", "node37": "trixie",
    "node40": "bullseye", "node41": "trixie",
    "node45": "trixie", "node46": "trixie", "node47": "trixie", "node48": "trixie", "node60": "trixie",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test below tests/integration with the ``integration`` marker."""
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.integration)
    # the crash/down test needs the machine to itself: run it before anything boots the shared sandbox
    first = [i for i in items if i.name == "test_crash_recovery_and_down_leave_nothing_behind"]
    items[:] = first + [i for i in items if i not in first]


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under pytest-xdist (-n): files that share a sandbox host run in one worker, one after another.

    Scheduled by scope (LoadScopeScheduling), a scope being the group of groups.py; a file outside
    tests/integration is a scope of its own.
    """
    from xdist.scheduler import LoadScopeScheduling  # only a run under pytest-xdist calls this hook

    group_of = groups.groups({p.name: p.read_text(encoding="utf-8") for p in HERE.glob("test_*.py")}, SANDBOX_HOSTS)

    class ByHosts(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::")[0]
            return group_of.get(Path(path).name, path) if "integration/" in path else path

    return ByHosts(config, log)


def needs_root_reason() -> str | None:
    """Return why the sandbox cannot run here, or None."""
    if not sys.platform.startswith("linux"):
        return "the sandbox needs Linux"
    if os.geteuid() != 0:
        return "the sandbox needs root (namespaces, bridge, mounts); run the tests as root"
    return None


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """Boot the sandbox hosts once per session and share them with concurrent sessions.

    The last session out takes the sandbox down (unless CONFIGURE_SANDBOX_KEEP=1), and only
    if a test session started it.
    """
    reason = needs_root_reason()
    if reason:  # an integration test that cannot reach real hosts has failed, not passed quietly
        pytest.fail(reason, pytrace=False)
    ticket = lease.acquire()
    try:
        yield up(hosts=SANDBOX_HOSTS, releases=SANDBOX_RELEASES)
    finally:
        keep = os.environ.get("CONFIGURE_SANDBOX_KEEP") == "1"
        lease.release(ticket, stop=None if keep else down)
