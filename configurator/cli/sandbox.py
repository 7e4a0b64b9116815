"""`configure sandbox up|down|status`: local Debian test hosts (needs root)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from configurator.sandbox import cgroup, delay, layout, netem, state
from configurator.sandbox.errors import SandboxError
from configurator.sandbox.lifecycle import down, up
from configurator.sandbox.light import pss_kib as light_pss_kib
from configurator.sandbox.light_up import down_light, up_light
from configurator.sandbox.releases import DEFAULT, RELEASES, parse_host_release
from configurator.sandbox.status import status


def cmd_up(args: argparse.Namespace) -> int:
    """Bring the sandbox up and print its hosts."""
    if args.light:
        return cmd_up_light(args)
    started = time.monotonic()
    named = dict(parse_host_release(text) for text in args.host_release)
    sandbox = up(hosts=args.hosts, releases=named, release=args.release)
    elapsed = time.monotonic() - started
    for h in sandbox.hosts:
        memory = cgroup.pss_kib(h.cgroup) / 1024
        print(f"{h.name}\t{h.address}\t{h.release}\tpid {h.pid}\t{memory:.0f} MiB")
    print(f"{len(sandbox.hosts)} hosts up in {elapsed:.1f} s; inventory: {sandbox.inventory_path}")
    return 0


def cmd_up_light(args: argparse.Namespace) -> int:
    """Bring light hosts up and print where they listen, the boot time and their memory."""
    done = up_light(args.hosts)
    for h in done.hosts:
        print(f"{h.name}\t{h.address}:{h.port}\tpid {h.pid}")
    pss = light_pss_kib() / 1024
    print(
        f"{len(done.hosts)} light hosts up ({done.booted} booted in {done.seconds:.1f} s after "
        f"{done.waited:.1f} s waiting for the sandbox lock), {pss:.0f} MiB PSS of their processes; "
        f"inventory: {done.inventory}"
    )
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    """Take the sandbox down (or only its light hosts)."""
    if args.light:
        down_light()
        print("light hosts removed")
        return 0
    down()
    print("sandbox down")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print one line per host; exit 3 when a host does not answer."""
    rows = status()
    if not rows:
        print("no sandbox hosts")
        return 0
    delays = _netem_columns()
    for row in rows:
        reach = "ssh ok" if row.ssh else f"ssh FAILED: {row.error}"
        shown = f"\t{delays[row.name]}" if row.name in delays else ""
        print(f"{row.name}\t{row.address}\t{row.release}\t{reach}\t{row.system_state}\t{row.kind}{shown}")
    return 0 if all(r.ssh for r in rows) else 3


def cmd_netem(args: argparse.Namespace) -> int:
    """Put a delay (jitter, loss) on the links of the chosen hosts, or take it off (--clear)."""
    if args.clear == bool(args.delay):
        raise SandboxError("give --delay (with --jitter, --loss if wanted) or --clear")
    directory = layout.state_dir()
    sandbox = state.load(directory)
    hosts = netem.chosen(sandbox.hosts if sandbox else (), args.hosts)
    spec = None if args.clear else netem.Netem(netem.milliseconds(args.delay),
                                               netem.milliseconds(args.jitter or "0"), netem.percent(args.loss or "0"))
    print(delay.apply(directory, hosts, spec))
    return 0


def _netem_columns() -> dict[str, str]:
    """The status lines' netem (each way) by host name, for the hosts whose link has one."""
    sandbox = state.load(layout.state_dir())
    return delay.columns(sandbox) if sandbox else {}


Command = Callable[[argparse.Namespace], int]


def guarded(func: Command) -> Command:
    """Wrap a command so a SandboxError prints one line and exits 1."""

    def run(args: argparse.Namespace) -> int:
        if not logging.getLogger().handlers:
            logging.basicConfig(level=logging.WARNING, format="%(message)s")
        try:
            return int(func(args))
        except SandboxError as exc:
            print(f"configure sandbox: {exc}", file=sys.stderr)
            return 1

    return run


def add_parser(subparsers: Any, name: str = "sandbox", text: str = "local Debian test hosts (needs root)") -> None:
    """Register ``sandbox up|down|status`` on an argparse subparsers object."""
    parser = subparsers.add_parser(name, help=text)
    actions = parser.add_subparsers(dest="sandbox_action", required=True)
    up_parser = actions.add_parser("up", help="boot the hosts (idempotent)")
    up_parser.add_argument("--hosts", type=int, default=3, help="number of hosts (default 3)")
    up_parser.add_argument(
        "--release",
        choices=RELEASES,
        help=f"Debian release of hosts 1..N not named by --host-release; a running host of another "
        f"release is booted again on it (default: running hosts keep theirs, new ones boot {DEFAULT})",
    )
    up_parser.add_argument(
        "--host-release",
        action="append",
        default=[],
        metavar="NAME=RELEASE",
        help="the release of one host, e.g. node29=bullseye (repeatable)",
    )
    up_parser.add_argument(
        "--light",
        action="store_true",
        help="boot light1..lightN instead: sshd without systemd over the shared base (no services), "
        "for measuring many hosts; the full hosts are left alone",
    )
    up_parser.set_defaults(func=guarded(cmd_up))
    down_parser = actions.add_parser("down", help="stop the hosts and remove them")
    down_parser.add_argument("--light", action="store_true", help="remove only the light hosts")
    down_parser.set_defaults(func=guarded(cmd_down))
    actions.add_parser("status", help="show the hosts").set_defaults(func=guarded(cmd_status))
    netem_parser = actions.add_parser(
        "netem", help="a delay each way on the hosts' links: tc netem, or a userspace queue where the kernel "
        "has no netem (--clear: none)")
    netem_parser.add_argument("--delay", help="one-way delay, e.g. 50ms (a round trip waits twice as long)")
    netem_parser.add_argument("--jitter", help="random variation of the delay, e.g. 5ms")
    netem_parser.add_argument("--loss", help="packets lost each way, e.g. 0.1%%")
    netem_parser.add_argument("--clear", action="store_true", help="take the netem off")
    netem_parser.add_argument("--hosts", metavar="NAME[,NAME]", help="only these hosts (default: every running host)")
    netem_parser.set_defaults(func=guarded(cmd_netem))
