"""The processes a converged host's probe starts: each one costs the host about a millisecond of CPU."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from configurator.engine import probe
from configurator.resources.package import Package
from configurator.resources.user import User

# installed on every Debian system, and accounts every Debian system has
CONVERGED = [Package("dash"), Package("coreutils"), User("root"), User("daemon")]


def started(tmp_path: Path, facts: probe.Facts) -> list[str]:
    """The programs the probe script of CONVERGED starts, in order (every program on PATH logs itself)."""
    shims, log = tmp_path / "bin", tmp_path / "started"
    shims.mkdir()
    for folder in ("/usr/bin", "/bin"):
        for name in os.listdir(folder):
            shim = shims / name
            if not shim.exists() and os.access(f"{folder}/{name}", os.X_OK):
                shim.write_text(f'#!/bin/sh\necho {name} >> {log}\nexec {folder}/{name} "$@"\n')
                shim.chmod(0o755)
    script = probe.script(CONVERGED, "tok", facts)
    done = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, check=True,
                          env={"PATH": str(shims)})
    states = probe.parse(done.stdout, "tok", CONVERGED).states
    assert [r.plan(s).status for r, s in zip(CONVERGED, states, strict=True)][:2] == ["ok", "ok"]
    return log.read_text().split() if log.exists() else []


def test_a_converged_probe_starts_one_process_per_kind_of_state(tmp_path: Path) -> None:
    # no `date`/`stat` for the lists' age (nothing to install), no `id`/`uname` (no `when` names facts)
    assert started(tmp_path, probe.Facts.FREE) == ["dpkg-query", "getent", "groups"]


@pytest.mark.skipif(not Path("/proc/sys/kernel/arch").exists(), reason="a kernel without kernel.arch runs uname")
def test_every_fact_adds_only_id(tmp_path: Path) -> None:
    assert started(tmp_path, probe.Facts.ALL) == ["id", "dpkg-query", "getent", "groups"]
