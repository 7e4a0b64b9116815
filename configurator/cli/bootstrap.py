"""`configure bootstrap`: first contact with fresh hosts (a password or a cloud user), admins and keys made
by the base role, key login proven, then password login switched off when asked."""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from configurator.cli import arguments
from configurator.cli.commands import load_inventory, selected
from configurator.engine import bootstrap, exitcodes
from configurator.engine.plan import Planned
from configurator.engine.status import StepStatus
from configurator.errors import InputError
from configurator.model.catalog import Built, Catalog, build_catalog
from configurator.model.context import inventory_view
from configurator.model.inventory import Host
from configurator.model.roles import Role
from configurator.model.variables import Layer, parse_cli_vars
from configurator.output import atomic
from configurator.resources import plugins


def add_parser(sub: Any, name: str, text: str) -> None:
    """Register `configure bootstrap`."""
    p = arguments.targeted(sub, name, text, cmd_bootstrap, over_hosts=True)
    login = p.add_mutually_exclusive_group()
    login.add_argument("--ask-pass", "-k", action="store_true",
                       help="log in with a password, prompted once without echo (never logged)")
    login.add_argument("--password-file", type=Path, metavar="FILE",
                       help="log in with the password in FILE (one trailing newline removed); never logged")
    p.add_argument("--user", "-u", metavar="USER",
                   help="log in as USER (e.g. a cloud image's `debian`, then sudo) instead of the host's user")
    p.add_argument("--disable-password-login", action="store_true",
                   help="once key login as the admin works, switch sshd's password login off (base's drop-in)")
    p.add_argument("--json", type=Path, metavar="FILE", help="write what was done on each host here")


def cmd_bootstrap(args: argparse.Namespace) -> int:
    """Bootstrap the selected hosts in parallel; the exit code of the worst host."""
    if args.connection == "local":
        raise InputError("bootstrap makes first contact over SSH: --connection local does not go with it")
    inv = load_inventory(args)
    request = bootstrap.Request(
        arguments.secret(args, args.ask_pass, args.password_file, "SSH password", "password"),
        args.user, arguments.become_password(args), args.accept_new, args.wait, args.disable_password_login)
    cache: dict[str, Role] = {}
    built: Built = {}
    view, kinds = inventory_view(inv), plugins.load(inv.resource_paths)

    def build(host: Host, cli_vars: Layer) -> Catalog:
        return build_catalog(host, inv, cli_vars, cache, view, args.redactor, kinds, built)

    cli_vars = parse_cli_vars(args.var)
    work = [(h, bootstrap.parts(h, build, cli_vars, request)) for h in selected(args, inv)]  # input errors first
    with ThreadPoolExecutor(max(1, min(args.forks, len(work) or 1))) as pool:
        reports = list(pool.map(lambda job: bootstrap.run(job[0], job[1], request, _step), work))
    for report in reports:
        print(args.redactor.redact(summary(report)))
    changes = sum(len(r.changed) for r in reports)
    print(f"bootstrap: {len(reports)} hosts, {changes} changes")
    if args.json:
        text = json.dumps({"hosts": [asdict(r) for r in reports]}, indent=2)
        atomic.write(args.json, args.redactor.redact(text), 0o644)
    return exitcodes.apply(reports)  # 1 a host failed, then 3 one unreachable, else 0


def _step(host: str, item: Planned, status: StepStatus) -> None:
    if status in (StepStatus.CHANGED, StepStatus.FAILED):
        print(f"{host}: {status.value} {item.entry.resource.id}", file=sys.stdout, flush=True)


def summary(report: bootstrap.Report) -> str:
    """One line for a host: its key, what changed, whether key login and the password switch-off held."""
    head = f"{report.host}: {report.status.value}"
    if report.host_key:
        head += f" (host key {report.host_key})"
    if report.error:
        return f"{head}: {report.error}"
    said = [f"{len(report.changed)} changes"]
    if report.key_login:
        said.append(f"key login as {report.admin} works")
    if report.password_login_disabled:
        said.append("password login off")
    return f"{head}: {', '.join(said)}"
