"""Integration tests run against the sandbox: real Debian hosts on this machine (root only)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from configurator.sandbox import Sandbox, down, load, up
from configurator.sandbox.host import is_running

HERE = Path(__file__).resolve().parent
# node1-3 engine, node4-5 DNS/DHCP, node6-8 app runtime, node9-10 verify/drift, node11-12 base and faults
SANDBOX_HOSTS = 12


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test below tests/integration with the ``integration`` marker."""
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.integration)


def needs_root_reason() -> str | None:
    """Return why the sandbox cannot run here, or None."""
    if not sys.platform.startswith("linux"):
        return "the sandbox needs Linux"
    if os.geteuid() != 0:
        return "the sandbox needs root (namespaces, bridge, mounts); run the tests as root"
    return None


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """Boot the sandbox hosts once per session; take them down afterwards unless kept.

    A sandbox that already ran before the session is reused and left running.
    """
    reason = needs_root_reason()
    if reason:
        pytest.skip(reason)
    before = load()
    already_up = before is not None and any(is_running(h) for h in before.hosts)
    box = up(hosts=SANDBOX_HOSTS)
    yield box
    if not already_up and os.environ.get("CONFIGURE_SANDBOX_KEEP") != "1":
        down()
