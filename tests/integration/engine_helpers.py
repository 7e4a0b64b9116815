"""Helpers for integration tests: write an inventory for sandbox hosts, run the CLI, read host state."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from configurator.cli import commands as cli
from configurator.sandbox import Sandbox, SandboxHost, run_in

HERE = Path(__file__).resolve().parent


def ssh_settings(sandbox: Sandbox, connect_timeout: int = 5, **extra: Any) -> dict[str, Any]:
    """The `ssh` block of a test inventory: root with the sandbox key and known_hosts."""
    return {"user": "root", "identity": str(sandbox.key_path), "known_hosts": str(sandbox.known_hosts),
            "connect_timeout": connect_timeout, **extra}


def write_inventory(sandbox: Sandbox, path: Path, groups: dict[str, dict[str, Any]],
                    hosts: dict[str, dict[str, Any]] | None = None, **top: Any) -> Path:
    """An inventory of sandbox hosts; `groups` name hosts and roles, `hosts` adds per-host keys."""
    members = {n for g in groups.values() for n in g.get("hosts", [])} | set(hosts or {})
    data: dict[str, Any] = {
        "ssh": ssh_settings(sandbox),
        "roles_path": [str(HERE / "roles")],
        "hosts": {n: {"address": sandbox.host(n).address, **(hosts or {}).get(n, {})} for n in sorted(members)},
        "groups": groups,
        **top,
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def configure(*argv: str | Path, report: Path | None = None) -> tuple[int, dict[str, Any] | None]:
    """Run `configure ARGV` in-process; return the exit code and the JSON report if asked."""
    args = [str(a) for a in argv]
    if report is not None:
        args += ["--json", str(report)]
    code = cli.main(args)
    data = json.loads(report.read_text()) if report is not None and report.exists() else None
    return code, data


def sh(host: SandboxHost, script: str, check: bool = True) -> str:
    """Run a shell snippet inside a sandbox host; return stdout."""
    done: subprocess.CompletedProcess[str] = run_in(host, ["sh", "-c", script], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"{host.name}: {script!r} exited {done.returncode}: {done.stderr}")
    return done.stdout


def etc_checksum(host: SandboxHost) -> str:
    """One checksum over every regular file under /etc (to prove nothing was written)."""
    return sh(host, "find /etc -xdev -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum")


def changed_steps(report: dict[str, Any], statuses: tuple[str, ...] = ("changed", "pending")) -> dict[str, list[str]]:
    """host -> resources whose status is in `statuses`."""
    return {h["host"]: [s["resource"] for s in h["steps"] if s["status"] in statuses] for h in report["hosts"]}


class RoleLab:
    """An inventory that puts one role on one server host; tests add hosts that exist only in it."""

    def __init__(self, sandbox: Sandbox, folder: Path, server: str, role: str, role_vars: dict[str, Any]) -> None:
        self.sandbox, self.folder, self.server_name = sandbox, folder, server
        self.role, self.role_vars = role, role_vars
        self.path = folder / "inventory.yml"
        self.hosts: dict[str, dict[str, Any]] = {}
        self.runs = 0

    def write(self) -> Path:
        data = {
            "ssh": ssh_settings(self.sandbox),
            "hosts": self.hosts,
            "groups": {self.role: {"hosts": [self.server_name], "roles": [self.role], "vars": self.role_vars}},
        }
        self.path.write_text(yaml.safe_dump(data, sort_keys=False))
        return self.path

    def apply(self, *args: str) -> tuple[int, dict[str, Any]]:
        """`configure apply --limit SERVER` (hosts that exist only in the inventory are never connected to)."""
        self.runs += 1
        code, data = configure("apply", self.write(), "--limit", self.server_name, *args,
                               report=self.folder / f"run{self.runs}.json")
        assert data is not None
        return code, data
