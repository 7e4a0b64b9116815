"""`configure vault encrypt|decrypt|edit|view FILE` (the passphrase option itself is configurator.cli.password)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from configurator.cli.password import add_password_option, source_from_args
from configurator.vault.cipher import decrypt, encrypt, is_vault
from configurator.vault.editing import edit
from configurator.vault.errors import VaultError
from configurator.vault.files import mode_of, read_file, write_atomic

ACTIONS = (("encrypt", "encrypt a plain file"),
           ("decrypt", "decrypt a vault file (writes plaintext, mode 0600)"),
           ("edit", "edit a vault file in $EDITOR; plaintext only on tmpfs"),
           ("view", "print a vault file's plaintext"))


def cmd_encrypt(args: argparse.Namespace) -> int:
    """Encrypt a plain file (in place, or to --output)."""
    data = read_file(args.file)
    if is_vault(data):
        raise VaultError("already encrypted", args.file, "use `configure vault edit` to change it")
    target = args.output or args.file
    write_atomic(target, encrypt(data, source_from_args(args).get(confirm=True)),
                 mode_of(target, mode_of(args.file, 0o600)))
    print(f"{target}: encrypted", file=sys.stderr)
    return 0


def _plaintext(args: argparse.Namespace) -> bytes:
    data = read_file(args.file)
    if not is_vault(data):
        raise VaultError("not a vault file (nothing to decrypt)", args.file)
    source = source_from_args(args)
    return decrypt(data, source.get(), str(args.file), source.origin)


def cmd_decrypt(args: argparse.Namespace) -> int:
    """Decrypt a vault file (in place, or to --output), mode 0600."""
    target = args.output or args.file
    write_atomic(target, _plaintext(args), 0o600)
    print(f"{target}: decrypted", file=sys.stderr)
    return 0


def cmd_view(args: argparse.Namespace) -> int:
    """Print a vault file's plaintext."""
    sys.stdout.buffer.write(_plaintext(args))
    sys.stdout.buffer.flush()
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    """Edit a vault file (a new one when it does not exist)."""
    saved = edit(args.file, source_from_args(args))
    print(f"{args.file}: {'saved' if saved else 'unchanged'}", file=sys.stderr)
    return 0


COMMANDS = {"encrypt": cmd_encrypt, "decrypt": cmd_decrypt, "edit": cmd_edit, "view": cmd_view}


def add_parser(subparsers: Any, name: str = "vault", text: str = "encrypt, decrypt, edit or view a vars file") -> None:
    """Register `vault encrypt|decrypt|edit|view FILE` on an argparse subparsers object."""
    parser = subparsers.add_parser(name, help=text)
    actions = parser.add_subparsers(dest="vault_action", required=True)
    for action, help_text in ACTIONS:
        sub = actions.add_parser(action, help=help_text, description=help_text)
        sub.add_argument("file", type=Path, metavar="FILE")
        add_password_option(sub)
        if action in ("encrypt", "decrypt"):
            sub.add_argument("--output", "-o", type=Path, metavar="OUT", help="write here instead of in place")
        sub.set_defaults(func=COMMANDS[action])
