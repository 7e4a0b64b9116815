"""`configure hostkeys show|forget|replace INVENTORY HOST`: a host's recorded SSH host keys, changed only on purpose.

`replace` records a new key only when the host offers the fingerprint given on the command line, or,
with `--accept-new`, when no key is recorded for the host any more (after `forget`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from configurator.cli.commands import load_inventory
from configurator.cli.password import add_password_option
from configurator.connections import hostkeys
from configurator.connections.route import Hop, route
from configurator.errors import InputError, Unreachable
from configurator.model.inventory import Host

ACTIONS = ("show", "forget", "replace")


def add_parser(sub: Any, name: str, text: str) -> None:
    """Register `configure hostkeys ACTION INVENTORY HOST [FINGERPRINT] [--accept-new]`."""
    p = sub.add_parser(name, help=text)
    p.add_argument("action", choices=ACTIONS)
    p.add_argument("inventory", type=Path, help="inventory file")
    p.add_argument("host", help="a host name of the inventory")
    p.add_argument("fingerprint", nargs="?", help="replace: the new key's SHA256 fingerprint (SHA256:...)")
    p.add_argument("--accept-new", action="store_true",
                   help="replace: record the key the host offers, only when none is recorded (after forget)")
    add_password_option(p)
    p.set_defaults(func=cmd_hostkeys, limit=None, var=[])


def _target(args: argparse.Namespace) -> tuple[Host, Hop, str]:
    """The host, where it is reached, and its known_hosts file."""
    inv = load_inventory(args)
    if args.host not in inv.hosts:
        raise InputError(f"no host {args.host!r} in {args.inventory}", hint="`configure hosts` lists them")
    host = inv.hosts[args.host]
    way = route(host)
    if args.action == "replace" and (len(way.hops) > 1 or way.proxy_command):
        raise InputError(f"{host.name} is reached through a gateway; replace reaches hosts directly",
                         hint="`forget` the key, then run once with --accept-new")
    return host, way.target, hostkeys.HostKeys(host.ssh.known_hosts, False).known


def cmd_hostkeys(args: argparse.Namespace) -> int:
    """Show, forget or replace the recorded keys of one host."""
    host, hop, known = _target(args)
    if args.action == "replace":
        return _replace(args, host, hop, known)
    found = hostkeys.recorded(known, hop.address, hop.port) if args.action == "show" else \
        hostkeys.forget(known, hop.address, hop.port)
    if not found:
        print(f"{host.name}: no key recorded for {hostkeys.known_name(hop.address, hop.port)} in {known}")
    verb = "" if args.action == "show" else "forgot "
    for entry in found:
        print(f"{host.name}: {verb}{entry.key_type} {entry.fingerprint}    # {known}:{entry.line} ({entry.names})")
    return 0


def _replace(args: argparse.Namespace, host: Host, hop: Hop, known: str) -> int:
    """Record the offered key that matches the fingerprint given (or, after a forget, with --accept-new)."""
    old = hostkeys.recorded(known, hop.address, hop.port)
    if bool(args.fingerprint) == bool(args.accept_new):
        raise InputError("replace needs the new key's SHA256 fingerprint, or --accept-new (not both)")
    if args.accept_new and old:
        raise InputError(f"{host.name}: a key is recorded ({old[0].fingerprint}, {known}:{old[0].line}); "
                         "give the new fingerprint, or `configure hostkeys forget` it first")
    offered = hostkeys.offered(hop, host.ssh.connect_timeout)
    key = offered[0] if args.accept_new else next(
        (k for k in offered if k.fingerprint == _fingerprint(args.fingerprint)), None)
    if key is None:
        shown = ", ".join(f"{k.get_name()} {k.fingerprint}" for k in offered)
        raise Unreachable(f"{host.name} offers {shown}, not {args.fingerprint}; {known} is unchanged")
    for entry in hostkeys.forget(known, hop.address, hop.port):
        print(f"{host.name}: forgot {entry.key_type} {entry.fingerprint}")
    hostkeys.record(known, hostkeys.known_name(hop.address, hop.port), key)
    print(f"{host.name}: recorded {key.get_name()} {key.fingerprint} in {known}")
    return 0


def _fingerprint(text: str) -> str:
    """`SHA256:base64` as paramiko prints it (no padding), from what a console or ssh-keygen printed."""
    body = text.strip().removeprefix("SHA256:").rstrip("=")
    return f"SHA256:{body}"
