"""Encrypted vars files and their loading (the `configure vault` command is configurator.cli.vault).

Vars files are encrypted with AES-256-GCM under a scrypt key (cipher), the passphrase comes
from --vault-password-file, $CONFIGURE_VAULT_PASSWORD or a prompt (passphrase), files are
replaced atomically and decrypted transparently when loaded (files), and `edit` keeps the
plaintext only in a private tmpfs folder (editing). Values loaded from a vault are secrets:
`load_vars_file` registers them with a `configurator.output.redaction.Redactor`.
"""

from __future__ import annotations

from .cipher import Envelope, ScryptParams, decrypt, derive_key, encrypt, forget_keys, is_vault, open_vault, parse
from .editing import edit, private_dir
from .errors import VaultError
from .files import load_vars_file, read_file, write_atomic
from .passphrase import ENV_VAR, PassphraseSource

__all__ = [
    "ENV_VAR",
    "Envelope",
    "PassphraseSource",
    "ScryptParams",
    "VaultError",
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
    "write_atomic",
]
