"""Installing the tool as a user would: the wheel into a fresh virtualenv, and scripts/install.sh on a
stock Debian host with its system Python (node17), each then used against another sandbox host (node18).

The sandbox hosts have no route to PyPI: the Python packages reach node17 as wheels downloaded here,
through install.sh's offline option (--wheels), as docs/install.md describes. Slow parts: the first
install.sh run on a host (Debian packages through the proxy, ~1-3 min), the wheel build (~20 s).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from configurator.sandbox import Sandbox, SandboxHost, run_in
from tests.integration.engine_helpers import sh, ssh_settings
from tests.unit.test_builtin_roles import tracked_copy

pytestmark = pytest.mark.integration
SERVER, TARGET = "node17", "node18"
SOURCE, WHEELS, KEYS = "/root/configurator", "/root/wheels", "/root/sandbox-keys"
VENV_PACKAGES = "python3-venv python3.11-venv python3-pip-whl python3-setuptools-whl"
SSHD_CHECK = "/usr/local/lib/configurator/sshd-check"  # a file the built-in base role installs


def push(host: SandboxHost, files: dict[str, Path], dest: str) -> None:
    """Copy local files into a host under `dest` (archive name -> local path), through tar on its side."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, path in sorted(files.items()):
            archive.add(path, arcname=name, recursive=False)
    run_in(host, ["mkdir", "-p", dest], check=True)
    run_in(host, ["tar", "-C", dest, "-xf", "-"], input=buffer.getvalue(), check=True, timeout=120)


def tree(top: Path) -> dict[str, Path]:
    """Every file below `top`, by its path relative to `top`."""
    return {str(p.relative_to(top)): p for p in sorted(top.rglob("*")) if p.is_file()}


def inventory(sandbox: Sandbox, ssh: dict[str, Any]) -> str:
    """An inventory that puts only the built-in base role on the target host (no roles_path)."""
    data = {"ssh": ssh, "hosts": {TARGET: {"address": sandbox.host(TARGET).address}},
            "groups": {"all_base": {"hosts": [TARGET], "roles": ["base"]}}}
    return yaml.safe_dump(data, sort_keys=False)


def host_python(host: SandboxHost) -> str:
    """The X.Y version of the host's system Python (the wheels must fit it)."""
    return sh(host, "/usr/bin/python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'").strip()


@pytest.fixture(scope="module")
def wheels(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wheels of every package this test environment has installed, for the host's Python (as --fetch-wheels)."""
    folder = tmp_path_factory.mktemp("wheels")
    frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--all", "--exclude-editable"],
                            capture_output=True, text=True, check=True).stdout
    (folder / "requirements.txt").write_text(frozen)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                    "--only-binary=:all:", "--python-version", host_python(sandbox.host(SERVER)),
                    "-d", str(folder), "-r", str(folder / "requirements.txt")], check=True, timeout=600)
    return folder


def configure_json(venv_bin: Path, *argv: str | Path, report: Path) -> tuple[int, dict[str, Any]]:
    """Run an installed `configure` outside the checkout; return its exit code and JSON report."""
    done = subprocess.run([str(venv_bin / "configure"), *map(str, argv), "--json", str(report)],
                          cwd=report.parent, capture_output=True, text=True, timeout=600)
    assert report.exists(), done.stdout + done.stderr
    return done.returncode, json.loads(report.read_text())


def pending(report: dict[str, Any]) -> list[str]:
    return [s["resource"] for h in report["hosts"] for s in h["steps"] if s["status"] in ("pending", "changed")]


def test_the_wheel_in_a_fresh_virtualenv_converges_a_host_with_the_builtin_roles(sandbox, wheels, tmp_path):
    """Slow (~1 min): python -m build from a clean tree, sdist then wheel, offline from the wheel folder."""
    source = tracked_copy(tmp_path / "src")
    offline = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)}
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(tmp_path / "dist"), str(source)],
                   env=offline, check=True, capture_output=True, timeout=300)
    sdist, wheel = next((tmp_path / "dist").glob("*.tar.gz")), next((tmp_path / "dist").glob("*.whl"))
    with tarfile.open(sdist) as archive:
        assert "configurator-0.1.0/roles/base/role.yml" in archive.getnames()

    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run([str(venv / "bin/pip"), "install", "--quiet", "--no-index", "--find-links", str(wheels),
                    str(wheel)], check=True, timeout=300)
    inv = tmp_path / "inventory.yml"
    inv.write_text(inventory(sandbox, ssh_settings(sandbox)))
    target = sandbox.host(TARGET)
    sh(target, f"rm -f {SSHD_CHECK}")

    code, report = configure_json(venv / "bin", "check", inv, report=tmp_path / "check.json")
    assert code == 2 and f"file[{SSHD_CHECK}]" in pending(report), report
    code, report = configure_json(venv / "bin", "apply", inv, report=tmp_path / "apply.json")
    assert code == 0, report
    assert sh(target, f"test -x {SSHD_CHECK} && echo yes").strip() == "yes"
    code, report = configure_json(venv / "bin", "verify", inv, report=tmp_path / "verify.json")
    assert code == 0, report
    code, report = configure_json(venv / "bin", "check", inv, report=tmp_path / "again.json")
    assert code == 0 and pending(report) == [], report


@pytest.fixture(scope="module")
def stock_server(sandbox: Sandbox, wheels: Path) -> SandboxHost:
    """node17 as a stock Debian machine: no virtualenv support, no earlier install; the tree and wheels copied in."""
    host = sandbox.host(SERVER)
    sh(host, f"rm -rf /opt/configurator /usr/local/bin/configure /usr/local/bin/invoke {SOURCE} {WHEELS} {KEYS};"
             f" DEBIAN_FRONTEND=noninteractive apt-get purge -y -q {VENV_PACKAGES} >/dev/null 2>&1; true")
    assert "ii" not in sh(host, "dpkg-query -W -f='${db:Status-Abbrev}\\n' python3-venv 2>/dev/null; true")
    push(host, tree(tracked_copy(wheels.parent / "checkout")), SOURCE)
    push(host, tree(wheels), WHEELS)
    push(host, {"id_ed25519": sandbox.key_path, "known_hosts": sandbox.known_hosts}, KEYS)
    run_in(host, ["chmod", "600", f"{KEYS}/id_ed25519"], check=True)
    return host


def install(host: SandboxHost, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the checkout's scripts/install.sh on the host as root, bounded in time."""
    return run_in(host, ["timeout", "400", "bash", f"{SOURCE}/scripts/install.sh", *args],
                  capture_output=True, text=True, timeout=420)


def test_install_sh_on_a_stock_debian_host_then_configure_checks_another_host(sandbox, stock_server, tmp_path):
    """Slow (~1-3 min on a fresh sandbox): Debian packages through the proxy, then the offline pip install."""
    done = install(stock_server, "--wheels", WHEELS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sh(stock_server, "dpkg-query -W -f='${db:Status-Abbrev}' python3-venv").strip() == "ii"
    assert sh(stock_server, "readlink /usr/local/bin/configure").strip() == "/opt/configurator/venv/bin/configure"
    assert sh(stock_server, "configure --version").strip() == "configure 0.1.0"
    roles_dir = sh(stock_server, "/opt/configurator/venv/bin/python -c "
                                 "'from configurator.model import roles; print(roles.BUILTIN)'").strip()
    assert roles_dir == f"{SOURCE}/roles"  # editable: the checkout's own roles

    ssh = ssh_settings(sandbox, identity=f"{KEYS}/id_ed25519", known_hosts=f"{KEYS}/known_hosts")
    (tmp_path / "inventory.yml").write_text(inventory(sandbox, ssh))
    push(stock_server, {"inventory.yml": tmp_path / "inventory.yml"}, "/root")
    code = run_in(stock_server, ["configure", "check", "/root/inventory.yml", "--json", "/root/check.json"],
                  capture_output=True, text=True, timeout=300).returncode
    report = json.loads(sh(stock_server, "cat /root/check.json"))
    assert code in (0, 2), report
    assert [h["host"] for h in report["hosts"]] == [TARGET] and report["hosts"][0]["steps"], report


def test_install_sh_again_is_idempotent_and_fetches_wheels_offline(stock_server):
    venv_id = "stat -c %i /opt/configurator/venv/pyvenv.cfg"
    before = sh(stock_server, venv_id)
    done = install(stock_server, "--wheels", WHEELS, "--fetch-wheels", "/root/wheels-again")
    assert done.returncode == 0, done.stdout + done.stderr
    assert sh(stock_server, venv_id) == before  # the same virtualenv, updated in place
    assert sh(stock_server, "configure --version").strip() == "configure 0.1.0"
    fetched = set(sh(stock_server, "cd /root/wheels-again && ls *.whl").split())
    assert fetched <= set(sh(stock_server, f"cd {WHEELS} && ls *.whl").split())
    assert {n.split("-")[0].lower() for n in fetched} >= {"pyyaml", "paramiko", "setuptools", "pytest_testinfra"}


def test_install_sh_fails_loudly_when_a_step_fails(stock_server):
    sh(stock_server, "mkdir -p /root/no-wheels")
    done = install(stock_server, "--wheels", "/root/no-wheels")
    assert done.returncode != 0
    assert "FAILED" in done.stderr and "did not complete" in done.stderr, done.stderr
    assert f"while installing {SOURCE} editable" in done.stderr, done.stderr  # names the step that failed
