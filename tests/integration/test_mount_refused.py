"""A mount the kernel refuses leaves /etc/fstab as it was, byte for byte: a broken line there could drop
the next boot into emergency mode, and the next run would take fstab for right."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.engine_helpers import changed_steps, configure, sh, write_inventory

pytestmark = pytest.mark.integration
HOST = "node35"
POINT = "/mnt/cfgrefused"
GOOD = "size=16m,mode=0755"
CLEAN = f"umount {POINT} 2>/dev/null; sed -i '\\# {POINT} #d' /etc/fstab; rmdir {POINT} 2>/dev/null; true"
FSTAB = "stat -c '%a %U %G' /etc/fstab && sha256sum /etc/fstab"


def project(sandbox: Any, top: Path, opts: str, fstype: str = "tmpfs") -> Path:
    """A role with one tmpfs mount on POINT, on HOST."""
    role = top / "roles" / "mount_refused_demo"
    role.mkdir(parents=True, exist_ok=True)
    (role / "role.yml").write_text(
        f"resources:\n  - mount: {{path: {POINT}, device: tmpfs, fstype: {fstype}, opts: \"{opts}\"}}\n")
    return write_inventory(sandbox, top / "inventory.yml",
                           {"demo": {"hosts": [HOST], "roles": ["mount_refused_demo"]}}, roles_path=["roles"])


def mounted(host: Any) -> str:
    """The mountinfo line of POINT ("" when nothing is mounted there)."""
    return sh(host, f"grep -F ' {POINT} ' /proc/self/mountinfo || true")


@pytest.fixture
def host(sandbox: Any) -> Any:
    found = sandbox.host(HOST)
    sh(found, CLEAN, check=False)
    yield found
    sh(found, CLEAN, check=False)


def refused(host: Any, inventory: Path, report: Path, *said: str) -> None:
    """Apply fails with the mount's own message, and fstab is unchanged (content, mode and owner)."""
    before = sh(host, FSTAB)
    code, result = configure("apply", inventory, report=report)
    assert code == 1 and result is not None, result
    error = result["hosts"][0]["error"]
    assert any(s in error for s in said), error
    assert sh(host, FSTAB) == before


@pytest.mark.parametrize(("opts", "fstype", "said"), [
    (f"{GOOD},nosuchoption", "tmpfs", ("nosuchoption", "bad option")),
    (GOOD, "nosuchfs", ("nosuchfs", "wrong fs type", "unknown filesystem type")),
])
def test_a_refused_mount_leaves_fstab_as_it_was_then_a_good_one_converges(sandbox, host, tmp_path, opts, fstype,
                                                                         said):
    refused(host, project(sandbox, tmp_path, opts, fstype=fstype), tmp_path / "refused.json", *said)
    assert mounted(host) == ""
    good = project(sandbox, tmp_path, GOOD)
    code, report = configure("apply", good, report=tmp_path / "apply.json")
    assert code == 0, report
    assert "size=16384k" in mounted(host)
    assert f"tmpfs {POINT} tmpfs {GOOD} 0 0" in sh(host, "cat /etc/fstab").splitlines()
    code, again = configure("apply", good, report=tmp_path / "again.json")
    assert code == 0 and again is not None and changed_steps(again, ("changed",)) == {HOST: []}, again
    assert again["hosts"][0]["round_trips"] == 1


def test_a_refused_remount_leaves_fstab_as_it_was(sandbox, host, tmp_path):
    assert configure("apply", project(sandbox, tmp_path, GOOD))[0] == 0
    sh(host, f"echo kept > {POINT}/marker")
    refused(host, project(sandbox, tmp_path, "size=8m,mode=0755,nosuchoption"), tmp_path / "refused.json",
            "nosuchoption", "bad option")
    assert "size=16384k" in mounted(host) and sh(host, f"cat {POINT}/marker") == "kept\n"


def test_a_refused_mount_afresh_mounts_back_what_was_there(sandbox, host, tmp_path):
    """A mode a remount keeps means unmount and mount; when that mount is refused, the tmpfs that was
    there is mounted again as it was (empty: a tmpfs's content goes with the unmount), not left unmounted."""
    assert configure("apply", project(sandbox, tmp_path, GOOD))[0] == 0
    report = tmp_path / "refused.json"
    refused(host, project(sandbox, tmp_path, "size=16m,mode=0700,nosuchoption"), report, "nosuchoption", "bad option")
    line = mounted(host)
    assert "size=16384k" in line and "mode=755" in line and sh(host, f"stat -c %a {POINT}").strip() == "755"
    assert f"is mounted on {POINT} again" in json.loads(report.read_text())["hosts"][0]["error"]
    code, again = configure("apply", project(sandbox, tmp_path, GOOD), report=tmp_path / "again.json")
    assert code == 0 and again is not None and changed_steps(again, ("changed",)) == {HOST: []}, again
