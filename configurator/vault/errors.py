"""The error every vault problem is reported with: bad input, exit 65, naming the file."""

from __future__ import annotations

from pathlib import Path

from configurator.errors import InputError, Location


class VaultError(InputError):
    """A vault file that cannot be read: not a vault, modified, truncated or a wrong passphrase."""

    def __init__(self, message: str, path: str | Path | None = None, hint: str = "") -> None:
        super().__init__(message, Location(str(path)) if path is not None else None, hint)
