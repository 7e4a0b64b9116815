"""A built-in role on a Debian release it does not support (node29, bullseye) fails before any change."""

from __future__ import annotations

import pytest

from tests.integration.engine_helpers import configure, etc_checksum, sh, write_inventory

pytestmark = pytest.mark.integration

HOST = "node29"
PACKAGES = {"dns": "bind9", "dhcp": "kea-dhcp4-server", "app_runtime": "nginx-light"}


@pytest.mark.parametrize("role", sorted(PACKAGES))
def test_a_role_refuses_bullseye_before_any_change(sandbox, tmp_path, role):
    host = sandbox.host(HOST)
    assert host.release == "bullseye"
    before = etc_checksum(host)
    path = write_inventory(sandbox, tmp_path / "inventory.yml", {role: {"hosts": [HOST], "roles": [role]}})
    code, data = configure("apply", path, report=tmp_path / "apply.json")
    assert code == 1, data
    assert data is not None
    (entry,) = data["hosts"]
    assert entry["status"] == "failed"
    assert f"role {role} supports Debian bookworm and trixie, not Debian GNU/Linux 11 (bullseye)" in entry["error"]
    assert {s["status"] for s in entry["steps"][1:]} <= {"skipped"}, entry["steps"]
    assert etc_checksum(host) == before
    assert sh(host, f"dpkg-query -W -f='${{Status}}' {PACKAGES[role]} 2>/dev/null || true") != "install ok installed"
