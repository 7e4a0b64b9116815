"""The vault passphrase option of every command that loads vars files, and the source it chooses."""

from __future__ import annotations

import argparse
from pathlib import Path

from configurator.vault.passphrase import ENV_VAR, PassphraseSource


def add_password_option(parser: argparse.ArgumentParser) -> None:
    """The --vault-password-file option (for `vault` and for every command that loads vars files)."""
    parser.add_argument("--vault-password-file", type=Path, metavar="FILE",
                        help=f"read the vault passphrase from FILE (before ${ENV_VAR}, before the prompt)")


def source_from_args(args: argparse.Namespace) -> PassphraseSource:
    """The passphrase source chosen on the command line."""
    return PassphraseSource(getattr(args, "vault_password_file", None))
