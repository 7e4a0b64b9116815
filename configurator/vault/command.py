"""The `configure vault encrypt|decrypt|edit|view FILE` subcommands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .cipher import decrypt, encrypt, is_vault
from .editing import edit
from .errors import VaultError
from .files import mode_of, read_file, write_atomic
from .passphrase import add_password_option, source_from_args


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


def add_parser(subparsers: Any) -> None:
    """Register `vault encrypt|decrypt|edit|view FILE` on an argparse subparsers object."""
    parser = subparsers.add_parser("vault", help="encrypt, decrypt, edit or view a vars file")
    actions = parser.add_subparsers(dest="vault_action", required=True)
    for name, func, text in (("encrypt", cmd_encrypt, "encrypt a plain file"),
                             ("decrypt", cmd_decrypt, "decrypt a vault file (writes plaintext, mode 0600)"),
                             ("edit", cmd_edit, "edit a vault file in $EDITOR; plaintext only on tmpfs"),
                             ("view", cmd_view, "print a vault file's plaintext")):
        sub = actions.add_parser(name, help=text, description=text)
        sub.add_argument("file", type=Path, metavar="FILE")
        add_password_option(sub)
        if name in ("encrypt", "decrypt"):
            sub.add_argument("--output", "-o", type=Path, metavar="OUT", help="write here instead of in place")
        sub.set_defaults(func=func)
