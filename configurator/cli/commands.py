"""The `configure` command: load → connect → probe → plan → apply → verify → report."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import typing

from configurator import __version__, startup
from configurator.cli.password import source_from_args
from configurator.engine import exitcodes
from configurator.errors import ConfigureError
from configurator.model import inventory
from configurator.model.catalog import Built, Catalog, build_catalog
from configurator.model.context import inventory_view
from configurator.model.roles import Role
from configurator.model.variables import parse_cli_vars
from configurator.model.vault_secrets import Secrets
from configurator.output import redaction
from configurator.resources import plugins
from configurator.vault.files import load_vars_file

# every subcommand, in the order of `configure --help`: name -> (its module, help); a module loads only
# when its command runs (`configure apply` must not pay for testinfra, sqlite or the sandbox at start-up)
COMMANDS: dict[str, tuple[str, str]] = {
    "apply": ("configurator.cli.apply", "converge the hosts"),
    "check": ("configurator.cli.apply", "show what apply would change; write nothing"),
    "bootstrap": ("configurator.cli.bootstrap", "first contact: admins and keys by password or cloud user"),
    "vars": ("configurator.cli.hosts", "show a host's variables and where each came from"),
    "hosts": ("configurator.cli.hosts", "list matched hosts with their groups and roles"),
    "facts": ("configurator.cli.hosts", "connect to a host and print its gathered facts"),
    "run": ("configurator.cli.run", "run one command (or a script) on the matching hosts; output grouped"),
    "hostkeys": ("configurator.cli.hostkeys", "show, forget or replace a host's recorded SSH host key"),
    "role": ("configurator.cli.role", "role authoring: `configure role new NAME [--path roles]`"),
    "completion": ("configurator.cli.completion", "print a shell completion script (bash or zsh)"),
    "vault": ("configurator.cli.vault", "encrypt, decrypt, edit or view a vars file"),
    "verify": ("configurator.cli.verify", "check the hosts with testinfra: generated checks and role tests"),
    "drift": ("configurator.cli.drift", "find drift: plan without writing, plus verify; report and remember"),
    "sandbox": ("configurator.cli.sandbox", "local Debian test hosts (needs root)"),
    "report": ("configurator.cli.report", "`configure report merge OUT IN...`: join the JSON reports of shards"),
}
USAGE = exitcodes.USAGE


class Parser(argparse.ArgumentParser):
    """argparse with a usage-error exit code that cannot be mistaken for "changes pending"."""

    def error(self, message: str) -> typing.NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; of the commands only `only` is loaded in full (all when None, none when "")."""
    parser = Parser(prog="configure", description=__doc__)
    parser.add_argument("--version", action="version", version=f"configure {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name, (module, text) in COMMANDS.items():
        if only in (None, name):
            importlib.import_module(module).add_parser(sub, name, text)
        else:
            sub.add_parser(name, help=text, add_help=False)  # listed in --help; loads when it is the command
    return parser


def load_inventory(args: argparse.Namespace) -> inventory.Inventory:
    """The inventory, with vault-encrypted vars files decrypted and their values registered as secrets."""
    source = source_from_args(args)
    ansible = Secrets(source.get, lambda data: args.redactor.add(redaction.secret_values(data)))  # ansible-vault
    return inventory.load(args.inventory, lambda path: load_vars_file(path, source, args.redactor), ansible)


def selected(args: argparse.Namespace, inv: inventory.Inventory) -> list[inventory.Host]:
    """The hosts `--limit` selects, then only those of `--shard K/N` when given."""
    hosts = inv.select(args.limit)
    shard = getattr(args, "shard", None)  # the commands over hosts have --shard; `facts`, say, has not
    if shard is None:
        return hosts
    from configurator.engine import shards  # only a sharded run loads it

    return shards.select(hosts, inv, shard)


def load_catalogs(args: argparse.Namespace) -> tuple[inventory.Inventory, list[Catalog]]:
    """Load the inventory and build every selected host's catalog; all before any connection."""
    inv = load_inventory(args)
    hosts = selected(args, inv)
    cli_vars = parse_cli_vars(args.var)
    cache: dict[str, Role] = {}
    view = inventory_view(inv)
    kinds = plugins.load(inv.resource_paths)  # once per run: every plugin error before any connection
    built: Built = {}
    return inv, [build_catalog(h, inv, cli_vars, cache, view, args.redactor, kinds, built) for h in hosts]


def main(argv: list[str] | None = None) -> int:
    """Entry point; user mistakes print one clear line (a traceback only with --debug)."""
    words = [word for word in (sys.argv[1:] if argv is None else argv) if not word.startswith("-")]
    with startup.collector_paused():
        parser = build_parser(only=words[0] if words else "")  # `configure --help` loads no command
    startup.loaded()
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
        return exitcodes.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
