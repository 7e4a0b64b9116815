"""Reading ansible-vault values (formats 1.1 and 1.2, AES256): whole files and inline `!vault` scalars.

Read only: configurator's own vault (configurator.vault) stays the one it writes. The envelope is

    $ANSIBLE_VAULT;1.1;AES256            (1.2 adds ";LABEL", the vault id)
    hex( hex(salt) "\\n" hex(hmac) "\\n" hex(ciphertext) )   wrapped at 80 columns

with an 80-byte PBKDF2-HMAC-SHA256 derivation (10000 iterations) split into the AES-256 key, the
HMAC-SHA256 key and the CTR counter; the HMAC over the ciphertext is checked before anything is
decrypted, so a wrong passphrase or a changed byte gives an error, never a wrong value.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from configurator.errors import InputError, Location

MAGIC = "$ANSIBLE_VAULT"
ITERATIONS = 10000
KEY_SIZE, IV_SIZE = 32, 16


def is_vault(text: str) -> bool:
    """Whether `text` is an ansible-vault envelope (a whole file or an inline `!vault` value)."""
    return text.lstrip().startswith(MAGIC + ";")


def _header(line: str, at: Location) -> None:
    parts = line.strip().split(";")
    if parts[0] != MAGIC or len(parts) not in (3, 4) or parts[1] not in ("1.1", "1.2"):
        raise InputError(f"not a supported ansible-vault header: {line.strip()[:60]!r}", at,
                         "formats 1.1 and 1.2 are read")
    if parts[2].strip() != "AES256":
        raise InputError(f"unsupported ansible-vault cipher {parts[2]!r}", at, "only AES256 exists")
    if len(parts) == 4 and parts[1] != "1.2":
        raise InputError("a vault id label needs format 1.2", at)


def _parts(body: str, at: Location) -> tuple[bytes, bytes, bytes]:
    """Salt, HMAC and ciphertext from the hex-of-hex body."""
    try:
        inner = binascii.unhexlify("".join(body.split()))
        salt, mac, data = (binascii.unhexlify(p) for p in inner.split(b"\n"))
    except (binascii.Error, ValueError):
        raise InputError("the ansible-vault body is damaged (not hex, truncated or modified?)", at) from None
    if not salt or len(mac) != 32 or not data or len(data) % 16:
        raise InputError("the ansible-vault body is damaged (wrong sizes)", at)
    return salt, mac, data


def decrypt(text: str, passphrase: str, at: Location) -> str:
    """The plaintext of an ansible-vault envelope; a wrong passphrase or a modified byte is an error naming `at`."""
    head, _, body = text.lstrip().partition("\n")
    _header(head, at)
    salt, mac, data = _parts(body, at)
    derived = hashlib.pbkdf2_hmac("sha256", passphrase.encode("utf-8"), salt, ITERATIONS, 2 * KEY_SIZE + IV_SIZE)
    key, mac_key, iv = derived[:KEY_SIZE], derived[KEY_SIZE:2 * KEY_SIZE], derived[2 * KEY_SIZE:]
    if not hmac.compare_digest(hmac.new(mac_key, data, hashlib.sha256).digest(), mac):
        raise InputError("cannot decrypt the ansible-vault value: wrong passphrase, or it was modified", at)
    decryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        return plain.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise InputError("the ansible-vault plaintext is damaged (bad padding or not UTF-8)", at) from None
