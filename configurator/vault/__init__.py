"""Encrypted vars files and their loading (the `configure vault` command is configurator.cli.vault).

Vars files are encrypted with AES-256-GCM under a scrypt key (cipher), the passphrase comes
from --vault-password-file, $CONFIGURE_VAULT_PASSWORD or a prompt (passphrase), files are
replaced atomically and decrypted transparently when loaded (files), and `edit` keeps the
plaintext only in a private tmpfs folder (editing). Values loaded from a vault are secrets:
`load_vars_file` registers them with a `configurator.output.redaction.Redactor`. The submodules are
imported by name, so that loading a plain vars file never loads the cipher.
"""

