"""The vault file format: AES-256-GCM, a scrypt key cached per run, the header authenticated.

A vault file is text: one header line, which is also the cipher's associated data, then
base64 of salt|nonce|ciphertext wrapped at 76 columns:

    $CONFIGURATOR_VAULT;1;AES256GCM;scrypt;n=32768,r=8,p=1
    <base64 ...>

Only the canonical form is accepted, so any changed, added or removed byte is an error,
and decryption gives all of the plaintext or a VaultError, never a part of it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
import threading
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from .errors import VaultError
from .header import MAGIC, is_vault

__all__ = ["MAGIC", "Envelope", "ScryptParams", "decrypt", "derive_key", "encrypt", "forget_keys", "is_vault",
           "open_vault", "parse"]
WIDTH = 76
SALT_SIZE, NONCE_SIZE, TAG_SIZE = 16, 12, 16
_HEADER = re.compile(rb"\$CONFIGURATOR_VAULT;(\d{1,3});(\w{1,16});(\w{1,16});n=(\d{1,9}),r=(\d{1,3}),p=(\d{1,3})\n")
_KEYS: dict[tuple[bytes, bytes, ScryptParams], bytes] = {}
_KEYS_LOCK = threading.Lock()


@dataclass(frozen=True)
class ScryptParams:
    """The cost of the key derivation (n: CPU/memory, r: block size, p: parallelism)."""

    n: int = 2**15
    r: int = 8
    p: int = 1

    def check(self, where: str) -> None:
        """Refuse parameters that are invalid or would take more than 1 GiB to derive."""
        power_of_two = self.n >= 2**10 and self.n & (self.n - 1) == 0
        if not (power_of_two and 1 <= self.r <= 32 and 1 <= self.p <= 16 and 128 * self.n * self.r <= 2**30):
            raise VaultError(f"unsupported scrypt parameters n={self.n},r={self.r},p={self.p}", where)


@dataclass(frozen=True)
class Envelope:
    """The parts of a vault file."""

    params: ScryptParams
    salt: bytes
    nonce: bytes
    ciphertext: bytes

    def header(self) -> bytes:
        """The header line (with its newline): also the associated data of the cipher."""
        p = self.params
        return MAGIC + f";1;AES256GCM;scrypt;n={p.n},r={p.r},p={p.p}\n".encode("ascii")

    def to_bytes(self) -> bytes:
        """The whole file."""
        body = base64.b64encode(self.salt + self.nonce + self.ciphertext)
        lines = [body[i:i + WIDTH] + b"\n" for i in range(0, len(body), WIDTH)]
        return self.header() + b"".join(lines)


def parse(data: bytes, where: str = "<vault>") -> Envelope:
    """Split a vault file into its parts; anything but the canonical form is a VaultError."""
    head, newline, body = data.partition(b"\n")
    match = _HEADER.fullmatch(head + newline)
    if not match:
        raise VaultError("not a valid vault header", where, "the file is damaged or not a vault file")
    version, cipher, kdf = (g.decode("ascii") for g in match.groups()[:3])
    if (version, cipher, kdf) != ("1", "AES256GCM", "scrypt"):
        raise VaultError(f"unsupported vault format {version};{cipher};{kdf}", where)
    params = ScryptParams(*(int(g) for g in match.groups()[3:]))
    params.check(where)
    try:
        raw = base64.b64decode(b"".join(body.split(b"\n")), validate=True)
    except binascii.Error:
        raise VaultError("the encrypted body is not valid base64 (truncated or modified?)", where) from None
    if len(raw) < SALT_SIZE + NONCE_SIZE + TAG_SIZE:
        raise VaultError("the file is truncated", where)
    found = Envelope(params, raw[:SALT_SIZE], raw[SALT_SIZE:SALT_SIZE + NONCE_SIZE], raw[SALT_SIZE + NONCE_SIZE:])
    if found.to_bytes() != data:
        raise VaultError("the file is not in canonical vault form (modified outside `configure vault`?)", where)
    return found


def derive_key(passphrase: str, salt: bytes, params: ScryptParams) -> bytes:
    """The AES-256 key for `passphrase` and `salt`; derived once per process, then cached."""
    cache_key = (hashlib.sha256(passphrase.encode("utf-8")).digest(), salt, params)
    with _KEYS_LOCK:
        if cache_key not in _KEYS:
            kdf = Scrypt(salt=salt, length=32, n=params.n, r=params.r, p=params.p)
            _KEYS[cache_key] = kdf.derive(passphrase.encode("utf-8"))
        return _KEYS[cache_key]


def forget_keys() -> None:
    """Drop every cached derived key."""
    with _KEYS_LOCK:
        _KEYS.clear()


def encrypt(plaintext: bytes, passphrase: str, params: ScryptParams | None = None,
            salt: bytes | None = None) -> bytes:
    """A vault file holding `plaintext` (a fresh salt unless one is given; always a fresh nonce)."""
    draft = Envelope(params or ScryptParams(), salt or secrets.token_bytes(SALT_SIZE), os.urandom(NONCE_SIZE), b"")
    key = derive_key(passphrase, draft.salt, draft.params)
    ciphertext = AESGCM(key).encrypt(draft.nonce, plaintext, draft.header())
    return Envelope(draft.params, draft.salt, draft.nonce, ciphertext).to_bytes()


def open_vault(data: bytes, passphrase: str, where: str = "<vault>", hint: str = "") -> tuple[Envelope, bytes]:
    """The parts and the plaintext of a vault file; all of it or a VaultError, never part of it."""
    found = parse(data, where)
    key = derive_key(passphrase, found.salt, found.params)
    try:
        return found, AESGCM(key).decrypt(found.nonce, found.ciphertext, found.header())
    except InvalidTag:
        raise VaultError("cannot decrypt: wrong passphrase, or the file was modified or corrupted",
                         where, hint) from None


def decrypt(data: bytes, passphrase: str, where: str = "<vault>", hint: str = "") -> bytes:
    """The plaintext of a vault file."""
    return open_vault(data, passphrase, where, hint)[1]
