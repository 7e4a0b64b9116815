"""Command-line arguments that several commands share (apply, check, verify, drift, vars, hosts)."""

from __future__ import annotations

import argparse
from pathlib import Path

from configurator import executor, vault


def targets(parser: argparse.ArgumentParser) -> None:
    """The inventory, --limit, --var and the vault password option."""
    parser.add_argument("inventory", type=Path, help="inventory YAML file")
    parser.add_argument("--limit", "-l", help="hosts or groups: names, globs, !exclude, comma-separated")
    parser.add_argument("--var", "-e", action="append", default=[], metavar="NAME=VALUE",
                        help="set a variable (highest precedence); the value is read as YAML")
    vault.add_password_option(parser)


def connection(parser: argparse.ArgumentParser) -> None:
    """--forks and --accept-new."""
    parser.add_argument("--forks", "-f", type=int, default=executor.DEFAULT_FORKS, help="hosts in parallel")
    parser.add_argument("--accept-new", action="store_true",
                        help="accept and record host keys never seen before (a changed key still fails)")
