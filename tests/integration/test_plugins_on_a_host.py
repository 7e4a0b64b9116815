"""Resource plugins on a real host (node20): a folder next to the roles, and an installed package.

Both use the worked example of docs/plugins.md (docs/examples/env_var.py): the folder as it is, the
package built here from the same file and installed with pip into a temporary target that only a
child `configure` process sees (PYTHONPATH).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.engine_helpers import changed_steps, configure, sh, write_inventory

pytestmark = pytest.mark.integration
HOST = "node20"
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "env_var.py"
ROLE = """\
resources:
  - env_var: {path: PATH, name: PORT, value: "8080"}
  - env_var: {path: PATH, name: HOST, value: "{{ inventory_hostname }}"}
  - env_var: {path: PATH, name: MODE, value: prod}
"""
BY_HAND = "# kept as it is\nPORT=80\nKEEP=1\nPORT=81\n"
PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "configurator-envvar-example"
version = "0.1"

[project.entry-points."configurator.resources"]
env_var = "cfg_envvar_example:EnvVar"

[tool.setuptools]
py-modules = ["cfg_envvar_example"]
"""


def project(sandbox: Any, top: Path, path: str, plugin_folder: bool) -> Path:
    """A project: roles/plug_demo (and resources/env_var.py) beside an inventory that names them relatively."""
    role = top / "roles" / "plug_demo"
    role.mkdir(parents=True)
    (role / "role.yml").write_text(ROLE.replace("PATH", path))
    extra: dict[str, Any] = {"roles_path": ["roles"]}
    if plugin_folder:
        (top / "resources").mkdir()
        shutil.copy(EXAMPLE, top / "resources" / "env_var.py")
        extra["resource_paths"] = ["resources"]
    return write_inventory(sandbox, top / "inventory.yml", {"plug": {"hosts": [HOST], "roles": ["plug_demo"]}},
                           **extra)


def expected(host: str) -> str:
    return f"# kept as it is\nPORT=8080\nKEEP=1\nHOST={host}\nMODE=prod\n"


def test_a_plugin_folder_next_to_the_roles_converges_and_verifies(sandbox, tmp_path):
    host, path = sandbox.host(HOST), "/etc/default/plugdemo"
    sh(host, f"printf '{BY_HAND}' > {path} && chmod 600 {path}")
    inventory = project(sandbox, tmp_path, path, plugin_folder=True)
    code, report = configure("apply", inventory, report=tmp_path / "apply.json")
    assert code == 0, report
    assert sh(host, f"cat {path}") == expected(HOST)
    assert sh(host, f"stat -c '%a %U' {path}").split() == ["644", "root"]
    code, again = configure("apply", inventory, report=tmp_path / "again.json")
    assert code == 0 and again is not None and changed_steps(again, ("changed",)) == {HOST: []}
    assert [s["status"] for s in again["hosts"][0]["steps"]] == ["ok"] * 3
    assert again["hosts"][0]["round_trips"] == 1  # plugin probes ride in the host's one probe script
    code, verified = configure("verify", inventory, report=tmp_path / "verify.json")
    assert code == 0, verified
    assert verified is not None
    passed = {c["subject"] for c in verified["hosts"][0]["checks"] if c["status"] == "passed"}
    assert {f"env_var[{path}: {n}]" for n in ("PORT", "HOST", "MODE")} <= passed
    sh(host, f"sed -i 's/^PORT=8080$/PORT=9/' {path}")
    code, broken = configure("verify", inventory, report=tmp_path / "broken.json")
    assert code == 4 and broken is not None
    failed = {c["subject"] for c in broken["hosts"][0]["checks"] if c["status"] == "failed"}
    assert failed == {f"env_var[{path}: PORT]"}
    sh(host, f"rm -f {path}")


def build_package(top: Path) -> Path:
    """The example as an installable package, installed with pip into a fresh target folder."""
    source, target = top / "src", top / "site"
    source.mkdir()
    (source / "pyproject.toml").write_text(PYPROJECT)
    shutil.copy(EXAMPLE, source / "cfg_envvar_example.py")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                           "--quiet", "--target", str(target), str(source)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert list(target.glob("configurator_envvar_example-0.1.dist-info/entry_points.txt"))
    return target


def child(inventory: Path, *argv: str, site: Path | None) -> tuple[int, str]:
    """`configure ARGV INVENTORY` in a child process that sees the package only when `site` is given."""
    paths = [str(site)] if site else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*paths, str(ROOT)])}
    done = subprocess.run([sys.executable, "-m", "configurator.cli", argv[0], str(inventory), *argv[1:]],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    return done.returncode, done.stdout + done.stderr


def test_an_installed_package_plugin_converges(sandbox, tmp_path):
    host, path = sandbox.host(HOST), "/etc/default/plugpkg"
    sh(host, f"printf '{BY_HAND}' > {path}")
    site = build_package(tmp_path)
    inventory = project(sandbox, tmp_path, path, plugin_folder=False)
    try:
        code, out = child(inventory, "check", site=None)
        assert code == 65 and "unknown resource type 'env_var'" in out, out
        assert sh(host, f"cat {path}") == BY_HAND  # refused before any connection
        code, out = child(inventory, "apply", "--json", str(tmp_path / "apply.json"), site=site)
        assert code == 0, out
        assert sh(host, f"cat {path}") == expected(HOST)
        code, out = child(inventory, "apply", "--json", str(tmp_path / "again.json"), site=site)
        again = json.loads((tmp_path / "again.json").read_text())
        assert code == 0 and changed_steps(again, ("changed",)) == {HOST: []}, out
        assert child(inventory, "verify", site=site)[0] == 0
    finally:
        shutil.rmtree(site)
        sh(host, f"rm -f {path}")
