"""Encrypted vars files: `configure vault encrypt|decrypt|edit|view FILE` and their loading.

Vars files are encrypted with AES-256-GCM under a scrypt key (cipher), the passphrase comes
from --vault-password-file, $CONFIGURE_VAULT_PASSWORD or a prompt (passphrase), files are
replaced atomically and decrypted transparently when loaded (files), and `edit` keeps the
plaintext only in a private tmpfs folder (editing). Values loaded from a vault are secrets:
`load_vars_file` registers them with a `configurator.output.redaction.Redactor`.
"""

from __future__ import annotations

from .cipher import Envelope, ScryptParams, decrypt, derive_key, encrypt, forget_keys, is_vault, open_vault, parse
from .command import add_parser
from .editing import edit, private_dir
from .errors import VaultError
from .files import load_vars_file, read_file, write_atomic
from .passphrase import ENV_VAR, PassphraseSource, add_password_option, source_from_args

__all__ = [
    "ENV_VAR",
    "Envelope",
    "PassphraseSource",
    "ScryptParams",
    "VaultError",
    "add_parser",
    "add_password_option",
    "decrypt",
    "derive_key",
    "edit",
    "encrypt",
    "forget_keys",
    "is_vault",
    "load_vars_file",
    "open_vault",
    "parse",
    "private_dir",
    "read_file",
    "source_from_args",
    "write_atomic",
]
