"""Rolling groups on node22-24: budgets per group, percentage ramps, batch hooks, groups side by side,
`after:` ordering; times come from the JSON report, effects from the hosts."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.engine_helpers import HERE, configure, sh, ssh_settings

pytestmark = pytest.mark.integration

NAMES = ["node22", "node23", "node24"]
REFUSED = 2222  # nothing listens there on a sandbox host: a host on that port is unreachable at once


@pytest.fixture
def hosts(sandbox):
    """node22-24 with the stamp file and the hook log removed."""
    found = [sandbox.host(n) for n in NAMES]
    for host in found:
        sh(host, "rm -rf /srv/rollout /var/tmp/rollout-hooks.log")
    return found


def inventory(sandbox: Any, path: Path, groups: dict[str, Any], odd: dict[str, Any] | None = None) -> Path:
    """An inventory of node22-24 (and `odd` hosts with their own keys) with the rollout_demo role on each group."""
    hosts = {n: {"address": sandbox.host(n).address} for n in NAMES} | (odd or {})
    groups = {name: {"roles": ["rollout_demo"], **spec} for name, spec in groups.items()}
    data = {"ssh": ssh_settings(sandbox, 3), "roles_path": [str(HERE / "roles")], "hosts": hosts, "groups": groups}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def stamp() -> tuple[str, str]:
    """A fresh value for the stamp file, so that every host has a change to make."""
    value = uuid.uuid4().hex[:12]
    return value, f"rollout_stamp={value}"


def stamped(host: Any) -> str:
    return sh(host, "cat /srv/rollout/stamp 2>/dev/null || true").strip()


def by_host(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {h["host"]: h for h in report["hosts"]}


def apply(path: Path, report: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code, data = configure("apply", path, *extra, report=report)
    assert data is not None
    return code, data


def test_an_unreachable_host_of_one_group_does_not_skip_a_serial_group(sandbox, hosts, tmp_path):
    node22, node23, node24 = hosts
    dns = {"address": node22.address, "port": REFUSED}
    path = inventory(sandbox, tmp_path / "inventory.yml", {
        "infra": {"hosts": ["dns1"]},
        "apps": {"hosts": ["node23", "node24"], "serial": 1, "max_fail": 0},
    }, {"dns1": dns})
    value, var = stamp()
    code, data = apply(path, tmp_path / "run.json", "--var", var, "--limit", "dns1,apps")
    statuses = {h: r["status"] for h, r in by_host(data).items()}
    assert statuses == {"dns1": "unreachable", "node23": "changed", "node24": "changed"}, json.dumps(data, indent=1)
    assert code == 3
    assert [stamped(node23), stamped(node24)] == [value, value]
