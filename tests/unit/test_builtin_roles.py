"""The built-in roles are found the same way from a checkout and from an installed wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from configurator.model import roles

ROOT = Path(__file__).resolve().parents[2]
LOOKUP = """\
import sys
sys.path.insert(0, sys.argv[1])
import configurator
from configurator.model import roles
from configurator.errors import Location
assert configurator.__file__.startswith(sys.argv[1]), configurator.__file__
print(roles.find("base", roles.search_path(()), Location("inventory.yml", 1)))
"""


def tracked_copy(target: Path) -> Path:
    """Copy the tree as a clean checkout of it would be (tracked and new files, nothing ignored) into `target`."""
    argv = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    listed = subprocess.run(argv, cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def build_wheel(source: Path, out: Path) -> Path:
    """Build the project's wheel offline, with the setuptools of this interpreter (the dev extra)."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "--quiet", "-w", str(out), str(source)], check=True, capture_output=True, timeout=300)
    return next(out.glob("configurator-*.whl"))


def test_an_installed_wheel_finds_the_builtin_roles(tmp_path):
    wheel = build_wheel(tracked_copy(tmp_path / "src"), tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {n.split("/")[2] for n in names if n.startswith("configurator/builtin_roles/") and n.count("/") > 2}
    assert shipped == {p.name for p in (ROOT / "roles").iterdir() if (p / "role.yml").is_file()}
    for role in (ROOT / "roles").iterdir():  # role.yml, templates, files and the role's testinfra tests
        for path in role.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                assert f"configurator/builtin_roles/{path.relative_to(ROOT / 'roles')}" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                    "--target", str(site), str(wheel)], check=True, capture_output=True, timeout=120)
    shutil.rmtree(tmp_path / "src")  # nothing of the source tree is left to fall back on
    done = subprocess.run([sys.executable, "-c", LOOKUP, str(site)], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == site / "configurator" / "builtin_roles" / "base"


def test_a_checkout_uses_its_top_level_roles_folder():
    assert roles.BUILTIN == ROOT / "roles"
    assert roles.find("base", roles.search_path(()), roles.Location("x", 1)) == ROOT / "roles" / "base"


def test_the_packaged_roles_win_over_a_roles_folder_beside_the_package(tmp_path):
    package = tmp_path / "site-packages" / "configurator"
    (package / "builtin_roles").mkdir(parents=True)
    (tmp_path / "site-packages" / "roles").mkdir()  # another distribution's top-level "roles"
    assert roles.builtin_dir(package) == package / "builtin_roles"
    assert roles.builtin_dir(tmp_path / "checkout" / "configurator") == tmp_path / "checkout" / "roles"
