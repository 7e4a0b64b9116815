"""The `configure` command: load → connect → probe → plan → apply → verify → report."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import signal
import sys
import threading
import time
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from configurator import __version__, vault
from configurator.cli import arguments
from configurator.connections import ssh as transport
from configurator.engine import converge as apply
from configurator.engine import executor, rollout
from configurator.errors import ConfigureError, InputError
from configurator.model import inventory
from configurator.model.catalog import Catalog, build_catalog
from configurator.model.context import inventory_view
from configurator.model.roles import Role
from configurator.model.variables import parse_cli_vars
from configurator.output import redaction, report
from configurator.resources import plugins

if TYPE_CHECKING:
    from configurator.checks import verify

INTERRUPTED = 130
USAGE = 64  # a command-line usage error (never 2, which means "changes")
# commands whose modules load only when they are the command run (start-up time of apply)
ELSEWHERE = {  # command -> (module, help)
    "verify": ("configurator.checks.verify", "check the hosts with testinfra: generated checks and role tests"),
    "drift": ("configurator.checks.drift", "find drift: plan without writing, plus verify; report and remember"),
    "sandbox": ("configurator.sandbox", "local Debian test hosts (needs root)"),
}


class Parser(argparse.ArgumentParser):
    """argparse with a usage-error exit code that cannot be mistaken for "changes pending"."""

    def error(self, message: str) -> typing.NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


def _targeted(sub: Any, name: str, text: str, func: Callable[[argparse.Namespace], int],
              *positional: str, remote: bool = False) -> argparse.ArgumentParser:
    """A subcommand over the inventory (`remote`: over its hosts too) with extra positionals (`name?` optional)."""
    p: argparse.ArgumentParser = sub.add_parser(name, help=text)
    (arguments.remote if remote else arguments.targets)(p)
    for word in positional:
        p.add_argument(word.rstrip("?"), nargs="?" if word.endswith("?") else None)
    p.set_defaults(func=func)
    return p


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--diff", "-D", action="store_true", help="show unified diffs of file content")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the JSON report here")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report here")
    parser.add_argument("--verbose", "-v", action="count", default=0)
    parser.add_argument("--no-color", action="store_true", help="plain output (also when not a terminal, or CI=true)")
    parser.add_argument("--svg", type=Path, metavar="FILE", help="also save the console output as an SVG picture")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; of the ELSEWHERE commands only `only` is loaded in full (all when None)."""
    parser = Parser(prog="configure", description=__doc__)
    parser.add_argument("--version", action="version", version=f"configure {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name, text in (("apply", "converge the hosts"), ("check", "show what apply would change; write nothing")):
        p = _targeted(sub, name, text, cmd_apply, remote=True)
        _run_options(p)
        p.set_defaults(check=name == "check")
        if name == "apply":
            p.add_argument("--check", action="store_true", help="same as `configure check`")
            p.add_argument("--detailed-exitcode", action="store_true", help="exit 2 when changes were made")
            p.add_argument("--yes", "-y", action="store_true", help="do not ask (apply never asks today)")
            p.add_argument("--verify", action="store_true",
                           help="verify each host after it converged; a failure stops the next batch (exit 4)")
    _targeted(sub, "vars", "show a host's variables and where each came from", cmd_vars, "host", "name?")
    _targeted(sub, "hosts", "list matched hosts with their groups and roles", cmd_hosts)
    facts = _targeted(sub, "facts", "connect to a host and print its gathered facts", cmd_facts, "host")
    facts.add_argument("--accept-new", action="store_true")
    p = sub.add_parser("role", help="role authoring: `configure role new NAME [--path roles]`")
    role_sub = p.add_subparsers(dest="role_command", required=True, parser_class=Parser)
    p = role_sub.add_parser("new", help="scaffold a role with a resource, a template and a test")
    p.add_argument("name")
    p.add_argument("--path", type=Path, default=Path("roles"), help="parent folder (default: ./roles)")
    p.set_defaults(func=cmd_role_new)
    p = sub.add_parser("completion", help="print a shell completion script (bash or zsh)")
    p.add_argument("shell", choices=["bash", "zsh"])
    p.set_defaults(func=cmd_completion)
    vault.add_parser(sub)
    for name, (module, text) in ELSEWHERE.items():
        if only in (None, name):
            importlib.import_module(module).add_parser(sub, text)
        else:
            sub.add_parser(name, help=text, add_help=False)  # listed in --help; loads when it is the command
    return parser


def load_inventory(args: argparse.Namespace) -> inventory.Inventory:
    """The inventory, with vault-encrypted vars files decrypted and their values registered as secrets."""
    source = vault.source_from_args(args)
    return inventory.load(args.inventory, lambda path: vault.load_vars_file(path, source, args.redactor))


def load_catalogs(args: argparse.Namespace) -> tuple[inventory.Inventory, list[Catalog]]:
    """Load the inventory and build every selected host's catalog; all before any connection."""
    inv = load_inventory(args)
    hosts = inv.select(args.limit)
    cli_vars = parse_cli_vars(args.var)
    cache: dict[str, Role] = {}
    view = inventory_view(inv)
    kinds = plugins.load(inv.resource_paths)  # once per run: every plugin error before any connection
    return inv, [build_catalog(h, inv, cli_vars, cache, view, args.redactor, kinds) for h in hosts]


def cmd_apply(args: argparse.Namespace) -> int:
    """apply / check."""
    started = time.monotonic()
    inv, catalogs = load_catalogs(args)
    console = report.Console(diff=args.diff, verbose=args.verbose, redact=args.redactor.redact, plan=args.check,
                             color=False if args.no_color else None, record=bool(args.svg))
    password = arguments.become_password(args)
    after = _after_apply(args, password, console)
    options = executor.Options(check=args.check, forks=args.forks, accept_new=args.accept_new, after=after,
                               sudo_password=password)
    verb = "check" if args.check else "apply"
    with _ctrl_c(options), console.progress([c.host.name for c in catalogs], verb) as advance:
        results = executor.run_all(rollout.batches(catalogs, inv), options, console.step, done=advance)
        if args.check:
            console.plan_view(results)
        console.recap(results, time.monotonic() - started)
        _write_reports(args, console, results)
    if options.abort.is_set():
        console.write("interrupted twice: the running steps were stopped on the hosts and their locks released\n")
        return INTERRUPTED
    if options.stop.is_set():
        console.write("interrupted: hosts finished their current step and started nothing new\n")
        return INTERRUPTED
    code = executor.exit_code(results, getattr(args, "detailed_exitcode", False), args.check)
    return after.exit_code(results, code) if after is not None else code


@contextlib.contextmanager
def _ctrl_c(options: executor.Options) -> Iterator[None]:
    """Ctrl-C once: hosts finish their step and start nothing new; twice: the running steps are
    stopped on the hosts. Later ones change nothing (and, the run ending, raise nothing)."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return
    count = 0

    def interrupted(signum: int, frame: object) -> None:
        nonlocal count
        count += 1
        if count == 1:
            options.stop.set()
            os.write(2, b"configure: interrupted: finishing the running steps (Ctrl-C again stops them)\n")
        elif count == 2:
            options.abort.set()
            os.write(2, b"configure: interrupted again: stopping the running steps on the hosts\n")

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        # once interrupted the run is ending: a late Ctrl-C must not raise, nor kill the process while
        # Python shuts down (its own handlers are reset to the default then; an ignored signal stays ignored)
        signal.signal(signal.SIGINT, signal.SIG_IGN if count else previous)


def _after_apply(args: argparse.Namespace, password: str | None, console: report.Console) -> verify.AfterApply | None:
    """The per-host verification of `apply --verify` (none for check)."""
    if not getattr(args, "verify", False) or args.check:
        return None
    from configurator.checks import verify

    return verify.AfterApply(args.accept_new, password, write=console.write, verbose=args.verbose)


def _write_reports(args: argparse.Namespace, console: report.Console, results: list[executor.HostResult]) -> None:
    """The pictures (--svg), the JSON report (--json) and the JUnit file (--junit) asked for."""
    verb = "check" if args.check else "apply"
    if args.svg:
        from configurator.output import liveview

        console.save_svg(args.svg, title=f"configure {verb}")
        liveview.save_picture(results, verb, str(args.svg.with_name(args.svg.stem + "-hosts.svg")))
    if args.json:
        report.write_json(args.json, report.as_json(results, verb, args.redactor.redact))
    if args.junit:
        from configurator.output import junit

        junit.write(args.junit, f"configure {verb}", report.junit_cases(results, args.redactor.redact))


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
    """Matched hosts with address, groups and roles."""
    inv = load_inventory(args)
    for host in inv.select(args.limit):
        print(f"{host.name}  {host.address}  groups={','.join(host.groups) or '-'}  "
              f"roles={','.join(host.roles) or '-'}")
    return 0


def cmd_completion(args: argparse.Namespace) -> int:
    """Print the completion script."""
    from configurator.cli import completion

    print(completion.script(build_parser(), args.shell), end="")
    return 0


def cmd_facts(args: argparse.Namespace) -> int:
    """Facts of one host, from the same single round trip the engine uses."""
    _, host = _named_host(args)
    session = transport.connect(host, args.accept_new)
    try:
        seen = apply.observe(session, [], first=True, check=True)
    finally:
        session.close()
    for key, value in sorted(seen.facts.items()):
        print(f"{key} = {value}")
    return 0


def cmd_role_new(args: argparse.Namespace) -> int:
    """Scaffold a role."""
    from configurator.model import scaffold

    folder = scaffold.new_role(args.name, args.path)
    print(f"created {folder}: edit role.yml, then `configure verify` runs tests/test_{args.name}.py")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; user mistakes print one clear line (a traceback only with --debug)."""
    words = [word for word in (sys.argv[1:] if argv is None else argv) if not word.startswith("-")]
    parser = build_parser(only=words[0] if words else None)
    args = parser.parse_args(argv)
    # paramiko logs tracebacks for failures this tool already reports in one line
    logging.getLogger("paramiko").setLevel(logging.DEBUG if args.debug else logging.CRITICAL + 1)
    args.redactor = redaction.Redactor()  # one per run: vault values are added as they are loaded
    redaction.protect_logging(args.redactor)
    try:
        code: int = args.func(args)
        return code
    except ConfigureError as exc:
        if args.debug:
            raise
        print(args.redactor.redact(f"configure: error: {exc}"), file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("configure: interrupted", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
