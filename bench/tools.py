"""How each tool is run on the workload, and how many changes it reported."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hostset
import venvs

HERE = Path(__file__).resolve().parent
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Command:
    """A command line to measure, and where its machine-readable report goes (if any)."""

    argv: list[str]
    env: dict[str, str]
    report: Path | None = None


def configurator(inventory: Path, report: Path, extra: tuple[str, ...] = ()) -> Command:
    """`configure apply` with a JSON report."""
    argv = [venvs.tool("configure"), "apply", str(inventory), "--json", str(report), *extra]
    return Command(argv, dict(os.environ), report)


def ansible(inventory: Path, forks: int, work: Path) -> Command:
    """`ansible-playbook` with pipelining, ControlPersist, forks >= hosts, strict known_hosts."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(HERE / "peers" / "ansible" / "ansible.cfg"),
           "ANSIBLE_FORKS": str(forks), "ANSIBLE_HOME": str(work / "ansible-home"),
           "ANSIBLE_LOCAL_TEMP": str(work / "ansible-tmp"),
           "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=60s",
           "ANSIBLE_SSH_CONTROL_PATH_DIR": str(work / "ansible-cp"), "ANSIBLE_NOCOLOR": "1"}
    argv = [venvs.tool("ansible-playbook"), "-i", str(inventory), str(HERE / "peers" / "ansible" / "playbook.yml")]
    return Command(argv, env)


def pyinfra(inventory: Path, parallel: int) -> Command:
    """`pyinfra INVENTORY deploy.py -y` with every host in parallel."""
    argv = [venvs.tool("pyinfra"), str(inventory), str(HERE / "peers" / "pyinfra" / "deploy.py"), "-y",
            "--parallel", str(parallel), "--no-wait"]
    return Command(argv, {**os.environ, "NO_COLOR": "1"})


def floor(hosts: hostset.HostSet, script: Path, parallel: int = 0) -> Command:
    """The floor script (bench/floor.py) with the same key and known_hosts; `parallel` hosts at once (0: all)."""
    argv = [str(venvs.python()), str(HERE / "floor.py"), "--key", hosts.key, "--known-hosts", hosts.known_hosts,
            "--script", str(script), "--parallel", str(parallel), *hosts.addresses]
    return Command(argv, dict(os.environ))


def manual(hosts: hostset.HostSet, packages: list[str]) -> Command:
    """The manual baseline (bench/manual.py): one `ssh HOST apt-get install` per host, all at once."""
    argv = [str(venvs.python()), str(HERE / "manual.py"), "--key", hosts.key, "--known-hosts", hosts.known_hosts,
            "--packages", ",".join(packages), *hosts.addresses]
    return Command(argv, dict(os.environ))


def configurator_changes(report: dict[str, Any]) -> int:
    """Changed steps over every host of a configurator JSON report."""
    return sum(1 for h in report["hosts"] for s in h["steps"] if s["status"] == "changed")


def ansible_changes(output: str) -> int:
    """Changed items: one `changed: [host]` line per task, or per item of a loop."""
    return len(re.findall(r"^changed: \[", ANSI.sub("", output), flags=re.MULTILINE))


def pyinfra_changes(output: str) -> int:
    """The `Success` column of the `Grand total` row (operations that changed something)."""
    for line in reversed(ANSI.sub("", output).splitlines()):
        cells = line.split()
        if cells[:2] == ["Grand", "total"] and len(cells) >= 4:
            return int(cells[3]) if cells[3].isdigit() else 0
    raise ValueError("no results table in the pyinfra output")


def changes(tool: str, command: Command, output: str) -> int | None:
    """Changes a run reported, in the tool's own unit; None when it cannot be read."""
    try:
        if tool == "configurator" and command.report is not None:
            return configurator_changes(json.loads(command.report.read_text(encoding="utf-8")))
        if tool == "ansible":
            return ansible_changes(output)
        if tool == "pyinfra":
            return pyinfra_changes(output)
    except (OSError, ValueError, KeyError):
        return None
    return None


def stop_ansible_masters(work: Path) -> None:
    """End the ssh ControlPersist masters Ansible left (they would expire after 60 s anyway)."""
    for socket in sorted((work / "ansible-cp").glob("*")):
        subprocess.run(["ssh", "-o", f"ControlPath={socket}", "-O", "exit", "bench-master"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
