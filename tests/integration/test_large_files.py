"""A large file is streamed to the host: right bytes, bounded memory, nothing left behind."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.engine_helpers import sh
from tests.integration.faults_helpers import address_of

pytestmark = pytest.mark.integration
SIZE_MB = 256


@pytest.fixture
def big_role(tmp_path):
    folder = tmp_path / "roles" / "bigfile"
    (folder / "files").mkdir(parents=True)
    (folder / "role.yml").write_text(
        "resources:\n  - directory: {path: /srv/big, mode: '0700'}\n"
        "  - file: {path: /srv/big/blob.bin, src: blob.bin, mode: '0600'}\n")
    block, digest = os.urandom(1 << 20), hashlib.sha256()
    with (folder / "files" / "blob.bin").open("wb") as out:
        for n in range(SIZE_MB):
            chunk = block[n:] + block[:n]  # every MiB differs: nothing to gain from compression
            out.write(chunk)
            digest.update(chunk)
    return tmp_path, digest.hexdigest()


def run_measured(*argv: str) -> tuple[int, int]:
    """Run configure as a child; its exit code and its own peak RSS in MiB.

    VmHWM of the child's own memory map, read while it runs: getrusage/wait4 would also count
    the pages it shared with this (large) test process between fork and exec.
    """
    proc = subprocess.Popen([sys.executable, "-m", "configurator.cli", *argv],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_kib = 0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            line = next(x for x in status.read_text().splitlines() if x.startswith("VmHWM:"))
            peak_kib = max(peak_kib, int(line.split()[1]))
        except (OSError, StopIteration):
            pass
        time.sleep(0.01)
    return proc.returncode, peak_kib // 1024


def test_a_large_file_is_streamed_with_bounded_memory(sandbox, big_role):
    root, digest = big_role
    host = sandbox.hosts[11]
    sh(host, "rm -rf /srv/big")
    path = root / "inv.yml"
    path.write_text(yaml.safe_dump({
        "ssh": {"user": "root", "identity": str(sandbox.key_path), "known_hosts": str(sandbox.known_hosts)},
        "roles_path": [str(root / "roles")],
        "hosts": {host.name: address_of(sandbox, host.name)},
        "groups": {"big": {"hosts": [host.name], "roles": ["bigfile"]}},
    }))
    code, peak_mib = run_measured("apply", str(path))
    assert code == 0
    assert sh(host, "sha256sum < /srv/big/blob.bin").split()[0] == digest
    assert sh(host, "stat -c '%a %s' /srv/big/blob.bin").split() == ["600", str(SIZE_MB << 20)]
    assert peak_mib < SIZE_MB // 2, f"the control process peaked at {peak_mib} MiB for a {SIZE_MB} MiB file"
    assert sh(host, "ls -A /srv/big") == "blob.bin\n"  # no temp file beside it
    assert ".configurator-" not in sh(host, "ls -A /var/tmp")  # the staging folder is gone
    report = root / "again.json"
    code, _ = run_measured("apply", str(path), "--json", str(report))
    entry = json.loads(report.read_text())["hosts"][0]
    assert code == 0 and entry["status"] == "ok" and entry["round_trips"] == 1
    sh(host, "rm -rf /srv/big")
