"""Where the vault passphrase comes from: --vault-password-file, then $CONFIGURE_VAULT_PASSWORD, then a prompt."""

from __future__ import annotations

import getpass
import os
from collections import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import VaultError

ENV_VAR = "CONFIGURE_VAULT_PASSWORD"


@dataclass
class PassphraseSource:
    """Where the passphrase comes from, first found wins: the file option, then $CONFIGURE_VAULT_PASSWORD, a prompt."""

    file: Path | None = None
    environ: abc.Mapping[str, str] = field(default_factory=lambda: os.environ)
    prompt: Callable[[str], str] = getpass.getpass
    _value: str | None = field(default=None, repr=False)

    @property
    def origin(self) -> str:
        """Where the passphrase comes from, for error messages."""
        if self.file is not None:
            return f"passphrase from --vault-password-file {self.file}"
        return f"passphrase from ${ENV_VAR}" if self.environ.get(ENV_VAR) else "passphrase from the prompt"

    def get(self, confirm: bool = False) -> str:
        """The passphrase (asked or read once); `confirm` asks twice when it comes from the prompt."""
        if self._value is None:
            self._value = self._read(confirm)
        return self._value

    def _read(self, confirm: bool) -> str:
        if self.file is not None:
            try:
                value = self.file.read_text(encoding="utf-8").rstrip("\r\n")
            except (OSError, UnicodeDecodeError) as exc:
                raise VaultError(f"cannot read the vault password file: {exc}", self.file) from None
            if not value:
                raise VaultError("the vault password file is empty", self.file)
            return value
        if self.environ.get(ENV_VAR):
            return self.environ[ENV_VAR]
        return self._ask(confirm)

    def _ask(self, confirm: bool) -> str:
        hint = f"set {ENV_VAR} or use --vault-password-file"
        if self.prompt is getpass.getpass and not _terminal():
            raise VaultError("no vault passphrase (no terminal to ask on)", hint=hint)
        try:
            value = self.prompt("Vault passphrase: ")
            if confirm and self.prompt("Vault passphrase again: ") != value:
                raise VaultError("the passphrases do not match")
        except EOFError:
            raise VaultError("no vault passphrase (no terminal to ask on)", hint=hint) from None
        if not value:
            raise VaultError("the vault passphrase is empty", hint=hint)
        return value


def _terminal() -> bool:
    """Whether there is a terminal to prompt on (getpass would otherwise read stdin, which may never end)."""
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        return False
    return True
