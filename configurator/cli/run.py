"""`configure run INVENTORY PATTERN -- COMMAND ARGS...` (or `--script FILE`): one command on many hosts."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from configurator.cli import arguments
from configurator.cli.apply import ctrl_c
from configurator.cli.commands import Parser, load_inventory
from configurator.cli.password import add_password_option
from configurator.engine import adhoc, exitcodes
from configurator.errors import InputError, Location
from configurator.model.inventory import Host, Inventory
from configurator.output import adhoc as view


class RunParser(Parser):
    """Words after `--` are the command, wherever the options stand (argparse alone would take the
    command as empty once it met an option after PATTERN, and refuse the words after `--`)."""

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        words = list(sys.argv[1:] if args is None else args)
        if "--" not in words:
            return super().parse_known_args(words, namespace)
        at = words.index("--")
        parsed, extra = super().parse_known_args(words[:at], namespace)
        parsed.command = [*parsed.command, *words[at + 1:]]
        return parsed, extra


def add_parser(sub: Any, name: str, text: str) -> None:
    """Register `configure run`."""
    p = sub.add_parser(name, help=text, description=__doc__)
    p.__class__ = RunParser  # add_parser builds the subcommands' one parser class; this one reads `--` itself
    p.add_argument("inventory", type=Path, help="inventory file (any kind `configure hosts` reads)")
    p.add_argument("pattern", help="hosts or groups, as --limit takes them (`all` for every host)")
    p.add_argument("command", nargs="*", help="the command and its arguments, after `--`")
    p.add_argument("--script", type=Path, metavar="FILE",
                   help=f"send FILE's content to `sh -s` on its stdin instead (at most {adhoc.MAX_SCRIPT} bytes)")
    p.add_argument("--become", "-b", action="store_true", help="run through sudo on every host")
    p.add_argument("--timeout", type=arguments.seconds, metavar="SECONDS",
                   help="end the command after this long (default: each host's command_timeout)")
    p.add_argument("--json", action="store_true", help="print per host: state, exit status, stdout, stderr, seconds")
    add_password_option(p)
    arguments.connection(p)
    arguments.become(p)
    p.set_defaults(func=cmd_run, limit=None, var=[])


def cmd_run(args: argparse.Namespace) -> int:
    """Run the command on the matching hosts, print the grouped output, pick the exit code."""
    started = time.monotonic()
    if args.timeout == 0:
        raise InputError("--timeout must be more than 0 seconds")
    command = _command(args)
    hosts = _hosts(load_inventory(args), args.pattern)
    options = adhoc.Options(arguments.run_options(args), become=args.become, timeout=args.timeout)
    with ctrl_c(options.run):
        outcomes = [adhoc.redacted(o, args.redactor.redact) for o in adhoc.run(hosts, command, options)]
    code = exitcodes.adhoc(unreachable=any(o.state == adhoc.State.UNREACHABLE for o in outcomes),
                           failed=any(o.state == adhoc.State.FAILED for o in outcomes),
                           interrupted=adhoc.interrupted(options))
    label = args.redactor.redact(command.label)
    if args.json:
        sys.stdout.write(view.as_json(label, outcomes, code))
    else:
        sys.stdout.write(view.render(view.fold(outcomes)))
        sys.stdout.write(view.summary(label, outcomes, time.monotonic() - started))
    return code


def _command(args: argparse.Namespace) -> adhoc.Command:
    """The command after `--`, or the --script file (one or the other)."""
    if args.script is None:
        return adhoc.from_argv(args.command)
    if args.command:
        raise InputError("give a command after `--` or --script FILE, not both")
    try:
        return adhoc.from_script(args.script.read_bytes(), str(args.script))
    except OSError as exc:
        raise InputError(f"cannot read the script: {exc.strerror or exc}", Location(str(args.script))) from None


def _hosts(inv: Inventory, pattern: str) -> list[Host]:
    """The hosts PATTERN names (`all`: every host, unless a host or group has that name)."""
    if pattern == "all" and "all" not in inv.hosts and "all" not in inv.groups:
        return list(inv.hosts.values())
    try:
        hosts = inv.select(pattern)
    except InputError as exc:  # the same check as --limit, told as this command's PATTERN
        raise InputError(exc.message.replace("--limit pattern", "pattern"), Location("PATTERN"), exc.hint) from None
    if not hosts:
        raise InputError(f"pattern {pattern!r} leaves no host", Location("PATTERN"))
    return hosts
