"""`configure vars`, `configure hosts` and `configure facts`: what the inventory says about hosts."""

from __future__ import annotations

import argparse
from typing import Any

from configurator.cli import arguments
from configurator.cli.commands import load_inventory, selected
from configurator.connections import ssh as transport
from configurator.engine import converge, rollout
from configurator.errors import InputError
from configurator.model import inventory
from configurator.model.catalog import build_catalog
from configurator.model.variables import merge, parse_cli_vars


def add_parser(sub: Any, name: str, text: str) -> None:
    """Register `configure vars HOST [NAME]`, `configure hosts` or `configure facts HOST`."""
    if name == "vars":
        arguments.targeted(sub, name, text, cmd_vars, "host", "name?")
    elif name == "hosts":
        listed = arguments.targeted(sub, name, text, cmd_hosts)
        listed.add_argument("--sources", "-s", action="store_true",
                            help="also each variable, and the file:line each host and variable came from")
        listed.add_argument("--shard", metavar="K/N",
                            help="only the hosts of shard K of N, as `apply --shard K/N` would run them")
    else:
        arguments.targeted(sub, name, text, cmd_facts, "host").add_argument("--accept-new", action="store_true")


def _named_host(args: argparse.Namespace) -> tuple[inventory.Inventory, inventory.Host]:
    """The inventory and the host named on the command line (bad input when there is no such host)."""
    inv = load_inventory(args)
    if args.host not in inv.hosts:
        raise InputError(f"no host {args.host!r} in {args.inventory}", hint="`configure hosts` lists them")
    return inv, inv.hosts[args.host]


def cmd_vars(args: argparse.Namespace) -> int:
    """Each variable of a host, its value and where it came from."""
    inv, host = _named_host(args)
    catalog = build_catalog(host, inv, parse_cli_vars(args.var))
    for name, sourced in sorted(catalog.variables.items()):
        if args.name and name != args.name:
            continue
        print(args.redactor.redact(f"{name} = {sourced.value!r}    # {sourced.describe()}"))
    if args.name and args.name not in catalog.variables:
        raise InputError(f"host {args.host} has no variable {args.name!r}")
    return 0


def cmd_hosts(args: argparse.Namespace) -> int:
    """Matched hosts with address, groups and roles (with --sources: their variables, and where each came from)."""
    inv = load_inventory(args)
    hosts = selected(args, inv)
    for host in hosts:
        groups, roles = ",".join(host.groups) or "-", ",".join(host.roles) or "-"
        line = f"{host.name}  {host.address}  groups={groups}  roles={roles}"
        if not getattr(args, "sources", False):
            print(line)
            continue
        print(f"{line}    # {host.where}")
        for name, sourced in sorted(merge(host.var_layers).items()):
            print(args.redactor.redact(f"    {name} = {sourced.value!r}    # {sourced.describe()}"))
    _print_order(inv, hosts)
    return 0


def _print_order(inv: inventory.Inventory, hosts: list[inventory.Host]) -> None:
    """The order an apply of these hosts takes: batches side by side, `after:` waits, failure budgets."""
    print("\nrollout order:")
    for line in rollout.order(hosts, inv):
        print(f"  {line}")


def cmd_facts(args: argparse.Namespace) -> int:
    """Facts of one host, from the same single round trip the engine uses."""
    _, host = _named_host(args)
    session = transport.connect(host, args.accept_new)
    try:
        seen = converge.observe(session, [], first=True, check=True)
    finally:
        session.close()
    for key, value in sorted(seen.facts.items()):
        print(f"{key} = {value}")
    return 0
