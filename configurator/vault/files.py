"""Reading and writing vault and vars files: atomic replacement, transparent decryption."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from configurator.errors import InputError, Location
from configurator.model.loader import MAX_SIZE, Mapping, load_text, read_bounded
from configurator.output.redaction import Redactor, secret_values

from .errors import VaultError
from .header import is_vault
from .passphrase import PassphraseSource

# an envelope holds base64 (4/3 of the plaintext, plus line ends): room for the largest vars file
MAX_VAULT_SIZE = 2 * MAX_SIZE


def read_file(path: Path) -> bytes:
    """A file's bytes (refused past MAX_VAULT_SIZE, unread); a missing or unreadable file is a VaultError naming it."""
    try:
        return read_bounded(path, MAX_VAULT_SIZE)
    except OSError as exc:
        raise VaultError(f"cannot read: {exc.strerror or exc}", path) from None


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Replace `path` (or a symlink's target) with `data`: a temp file beside it, final mode, fsync, rename."""
    path = path.resolve()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), mode)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def mode_of(path: Path, default: int) -> int:
    """The permission bits of `path`, or `default` when it does not exist."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return default


def load_vars_file(path: Path, passphrase_source: PassphraseSource, redactor: Redactor | None = None) -> Mapping:
    """A vars file as a mapping; a vault file is decrypted first and its values are registered as secrets."""
    data = read_file(path)
    secret = is_vault(data)
    if secret:
        from .cipher import decrypt  # only a vault file needs the cipher (and its start-up cost)

        data = decrypt(data, passphrase_source.get(), str(path), passphrase_source.origin)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", Location(str(path))) from None
    value = load_text(text, f"{path} (decrypted)" if secret else str(path))
    if value is None:
        value = Mapping()
        value.where, value.key_lines = Location(str(path), 1), {}
    if not isinstance(value, Mapping):
        raise InputError("a vars file must be a mapping of variable names to values", Location(str(path), 1))
    if secret and redactor is not None:
        redactor.add(secret_values(value))
    return value
