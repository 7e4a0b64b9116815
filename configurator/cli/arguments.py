"""Command-line arguments that several commands share (apply, check, verify, drift, vars, hosts)."""

from __future__ import annotations

import argparse
import getpass
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from configurator.cli.password import add_password_option
from configurator.engine import executor
from configurator.errors import InputError
from configurator.model import tags


def targets(parser: argparse.ArgumentParser) -> None:
    """The inventory, --limit, --var and the vault password option."""
    parser.add_argument("inventory", type=Path, help="inventory YAML file")
    parser.add_argument("--limit", "-l", help="hosts or groups: names, globs, !exclude, comma-separated")
    parser.add_argument("--var", "-e", action="append", default=[], metavar="NAME=VALUE",
                        help="set a variable (highest precedence); the value is read as YAML")
    add_password_option(parser)


def remote(parser: argparse.ArgumentParser) -> None:
    """A command over remote hosts (apply, check, verify, drift): targets, connection and become options."""
    targets(parser)
    connection(parser)
    become(parser)
    parser.add_argument("--shard", metavar="K/N",
                        help="run only shard K of N: a stable slice of the hosts, balanced within each rolling "
                             "group (docs/scale.md)")


def connection(parser: argparse.ArgumentParser) -> None:
    """--forks, --accept-new and --connection."""
    parser.add_argument("--forks", "-f", type=int, default=executor.DEFAULT_FORKS, help="hosts in parallel")
    parser.add_argument("--accept-new", action="store_true",
                        help="accept and record host keys never seen before (a changed key still fails)")
    parser.add_argument("--connection", choices=["ssh", "local"], default="",
                        help="reach every host this way; local: run on this machine (default: each host's own)")
    parser.add_argument("--wait", type=seconds, default=0.0, metavar="SECONDS",
                        help="wait up to SECONDS for hosts still coming up: retry connects (backoff and jitter), "
                             "then wait for cloud-init")


def seconds(text: str) -> float:
    """A --wait value: a number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds: {text!r}")
    return value


def become(parser: argparse.ArgumentParser) -> None:
    """--ask-become-pass / --become-password-file (one or the other)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--ask-become-pass", "-K", action="store_true",
                       help="prompt once for the sudo password (sent on sudo's stdin, never logged)")
    group.add_argument("--become-password-file", type=Path, metavar="FILE",
                       help="read the sudo password from FILE (one trailing newline removed); never logged")


def become_password(args: argparse.Namespace) -> str | None:
    """The sudo password (prompted, or read once from its file), registered with the run's redactor."""
    return secret(args, args.ask_become_pass, args.become_password_file, "sudo password", "become password")


def secret(args: argparse.Namespace, ask: bool, path: Path | None, prompt: str, what: str) -> str | None:
    """A password prompted without echo (`ask`) or read once from `path`, registered with the run's redactor."""
    password = getpass.getpass(f"{prompt}: ") if ask else _read_password(path, what)
    if password:
        args.redactor.add([password])
    return password


def _read_password(path: Path | None, what: str) -> str | None:
    if path is None:
        return None
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(f"cannot read the {what} file {path}: {reason}") from None
    text = text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")
    if not text:
        raise InputError(f"the {what} file {path} is empty")
    return text


def run_options(args: argparse.Namespace, check: bool = False, **more: Any) -> executor.RunOptions:
    """The library's typed run options from a command over remote hosts (apply, check, verify, drift)."""
    return executor.RunOptions(check=check, forks=args.forks, accept_new=args.accept_new,
                               sudo_password=become_password(args), connection=args.connection,
                               wait=args.wait, **more)


def targeted(sub: Any, name: str, text: str, func: Callable[[argparse.Namespace], int],
             *positional: str, over_hosts: bool = False) -> argparse.ArgumentParser:
    """A subcommand over the inventory (and over its hosts: connection and become options) with extra
    positionals (`name?` optional)."""
    p: argparse.ArgumentParser = sub.add_parser(name, help=text)
    (remote if over_hosts else targets)(p)
    for word in positional:
        p.add_argument(word.rstrip("?"), nargs="?" if word.endswith("?") else None)
    p.set_defaults(func=func)
    return p


def tagged(parser: argparse.ArgumentParser) -> None:
    """--tags / --skip-tags: a partial run over the resources with (or without) these tags."""
    parser.add_argument("--tags", "-t", action="append", metavar="TAG[,TAG]",
                        help="only the resources with one of these tags (their own or their role's; "
                             "`always` ones too)")
    parser.add_argument("--skip-tags", action="append", metavar="TAG[,TAG]",
                        help="leave out the resources with one of these tags (wins over --tags)")


def selection(args: argparse.Namespace) -> tags.Selection:
    """The tags a partial run keeps and leaves out."""
    return tags.Selection(tags.from_option(getattr(args, "tags", None)),
                          tags.from_option(getattr(args, "skip_tags", None)))
