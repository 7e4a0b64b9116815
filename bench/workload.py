"""The workload's data (workload/vars.yml) and the shell scripts derived from it.

Pure functions of the vars: the floor's probe, the host reset and the host preparation.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import yaml

from configurator.resources.package import UPDATE_SCRIPT

HERE = Path(__file__).resolve().parent
VARS_FILE = HERE / "workload" / "vars.yml"
LIGHT_VARS_FILE = HERE / "workload" / "light.yml"  # for light hosts: no services, packages of the base
ROLES_DIR = HERE / "workload" / "configurator" / "roles"
APT = "DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300"


def load(path: Path = VARS_FILE) -> dict[str, Any]:
    """The workload variables."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def with_files(data: dict[str, Any], count: int) -> dict[str, Any]:
    """The workload with `count` templated files: the usual ones, then app010, app011, ..."""
    names = list(data["bench_files"])[:count]
    names += [f"app{i:03d}" for i in range(len(names), count)]
    return {**data, "bench_files": names}


def resource_count(data: dict[str, Any]) -> int:
    """Resources per host, as the configurator role expands them."""
    keys = ("bench_packages", "bench_users", "bench_dirs", "bench_files", "bench_lines", "bench_services")
    return sum(len(data[k]) for k in keys)


def file_paths(data: dict[str, Any]) -> list[str]:
    """Every regular file the workload manages."""
    return [f"{data['bench_conf_dir']}/{name}.conf" for name in data["bench_files"]] + [data["bench_settings"]]


def _words(items: list[str]) -> str:
    return " ".join(shlex.quote(i) for i in items)


def floor_probe(data: dict[str, Any]) -> str:
    """The minimal converged check: one process per kind of state, every item of the workload."""
    files, dirs = _words(file_paths(data)), _words(data["bench_dirs"])
    return "\n".join([
        f"stat -c '%n %F %a %U %G %s' {files} {dirs}",
        f"sha256sum {files}",
        f"dpkg-query -W -f='${{Package}} ${{Status}} ${{Version}}\\n' {_words(data['bench_packages'])}",
        *([f"systemctl show -p Id,LoadState,ActiveState,UnitFileState {_words(data['bench_services'])}"]
          if data["bench_services"] else []),  # the light workload has none (no systemd on light hosts)
        f"getent passwd {_words(data['bench_users'])}",
        "exit 0",
    ]) + "\n"


def reset_script(data: dict[str, Any]) -> str:
    """Undo the workload: purge its packages (and their dependencies), delete its users, directories, files."""
    packages = _words(data["bench_packages"])
    services = _words([s for s in data["bench_services"] if s != "ssh"])
    users = data["bench_users"]
    return "\n".join([
        f"systemctl stop {services} 2>/dev/null",
        f"{APT} purge {packages} >/dev/null 2>&1",
        f"{APT} autoremove --purge >/dev/null 2>&1",
        "apt-get clean",
        *(f"id -u {shlex.quote(u)} >/dev/null 2>&1 && userdel -r {shlex.quote(u)} 2>/dev/null" for u in users),
        f"rm -rf {_words(data['bench_dirs'])} {shlex.quote(data['bench_settings'])}",
        f"! dpkg-query -W -f='${{Status}}\\n' {packages} 2>/dev/null | grep -q ' installed'",
    ]) + "\n"


def prepare_script(data: dict[str, Any]) -> str:
    """Fresh apt lists (so no tool runs apt-get update) and a warm package proxy."""
    return "\n".join([
        "set -e",
        f"export DEBIAN_FRONTEND=noninteractive; {{ {UPDATE_SCRIPT}; }} >/dev/null",  # bounded tries, as configurator's
        "mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/update-success-stamp",
        f"{APT} install --download-only {_words(data['bench_packages'])} >/dev/null",
        "apt-get clean",
    ]) + "\n"
