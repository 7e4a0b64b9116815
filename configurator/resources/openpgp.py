"""OpenPGP public keys read on the control machine: ASCII armor removed, primary key fingerprints.

Enough of RFC 4880 / RFC 9580 to install a repository key and check a pinned fingerprint without
gpg on either side: the armor is base64 between its lines (the CRC-24 checked when present), and
a v4 fingerprint is the SHA-1 of 0x99, the two-byte length and the public key packet's body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterator

BEGIN = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
END = "-----END PGP PUBLIC KEY BLOCK-----"
HEADER = re.compile(r"^[A-Za-z][A-Za-z0-9-]*: ")
PUBLIC_KEY, PUBLIC_SUBKEY = 6, 14
SECRET_KEYS = (5, 7)
FINGERPRINT = re.compile(r"^(?:[0-9A-F]{40}|[0-9A-F]{64})\Z")


class BadKey(ValueError):
    """Key material that is not an OpenPGP public key this module can read."""


def crc24(data: bytes) -> int:
    """The armor checksum (RFC 4880 section 6.1)."""
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def is_armored(data: bytes) -> bool:
    """Whether `data` holds an armored public key block (else it is taken as binary packets)."""
    return BEGIN.encode() in data


def dearmor(text: str) -> bytes:
    """The binary packets of every public key block in `text`, in order."""
    if "-----BEGIN PGP PRIVATE KEY BLOCK-----" in text:
        raise BadKey("this is a private key block: give the public key (gpg --export --armor)")
    lines = [line.strip() for line in text.replace("\r", "").split("\n")]
    starts = [n for n, line in enumerate(lines) if line == BEGIN]
    if not starts:
        raise BadKey(f"no {BEGIN} line")
    return b"".join(_block(lines, start) for start in starts)


def _block(lines: list[str], start: int) -> bytes:
    """One armored block's packets, from the line after its BEGIN line to its END line."""
    try:
        end = lines.index(END, start)
    except ValueError:
        raise BadKey(f"the armored key has no {END} line") from None
    body = lines[start + 1:end]
    while body and HEADER.match(body[0]):  # armor headers (Version:, Comment:) up to the blank line
        body.pop(0)
    body = [line for line in body if line]
    checksum = body.pop()[1:] if body and body[-1].startswith("=") and len(body[-1]) == 5 else None
    try:
        data = base64.b64decode("".join(body), validate=True)
        expected = base64.b64decode(checksum, validate=True) if checksum is not None else None
    except binascii.Error as exc:
        raise BadKey(f"the armored key is not valid base64: {exc}") from None
    if expected is not None and int.from_bytes(expected, "big") != crc24(data):
        raise BadKey("the armored key's checksum (CRC-24) does not match: it was damaged or cut")
    return data


def key_bytes(data: bytes) -> bytes:
    """Binary key packets from either form: armored text is dearmored, binary is kept as it is."""
    if is_armored(data):
        try:
            return dearmor(data.decode("ascii"))
        except UnicodeDecodeError:
            raise BadKey("the armored key holds bytes that are not ASCII") from None
    return data


def packets(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(tag, body) of each packet, old and new header formats (RFC 4880 section 4.2)."""
    at = 0
    while at < len(data):
        first = data[at]
        if not first & 0x80:
            raise BadKey(f"not OpenPGP packets (byte {at} is {first:#04x})")
        if first & 0x40:
            tag, (length, at) = first & 0x3F, _new_length(data, at + 1)
        else:
            tag, (length, at) = (first >> 2) & 0x0F, _old_length(data, at + 1, first & 0x03)
        if at + length > len(data):
            raise BadKey("the key is cut short (a packet runs past the end)")
        yield tag, data[at:at + length]
        at += length


def _old_length(data: bytes, at: int, kind: int) -> tuple[int, int]:
    """An old-format length: 1, 2 or 4 bytes (kind 0-2); an indeterminate length is refused."""
    if kind == 3:
        raise BadKey("a key packet of indeterminate length")
    size = (1, 2, 4)[kind]
    return int.from_bytes(data[at:at + size], "big"), at + size


def _new_length(data: bytes, at: int) -> tuple[int, int]:
    """A new-format length: one, two or five bytes (partial lengths never occur in keys)."""
    first = data[at] if at < len(data) else 0
    if first < 192:
        return first, at + 1
    if first < 224:
        return ((first - 192) << 8) + data[at + 1] + 192, at + 2
    if first == 255:
        return int.from_bytes(data[at + 1:at + 5], "big"), at + 5
    raise BadKey("a key packet with a partial length")


def fingerprint(body: bytes) -> str:
    """The fingerprint of a public key packet body: v4 (SHA-1), v5 and v6 (SHA-256)."""
    version = body[0] if body else 0
    if version == 4:
        return hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()
    if version in (5, 6):
        prefix = b"\x9a" if version == 5 else b"\x9b"
        return hashlib.sha256(prefix + len(body).to_bytes(4, "big") + body).hexdigest().upper()
    raise BadKey(f"a version {version} key (only versions 4, 5 and 6 are read)")


def primary_fingerprints(data: bytes) -> list[str]:
    """The fingerprint of each primary key in binary key packets (subkeys are not listed)."""
    found: list[str] = []
    for tag, body in packets(data):
        if tag in SECRET_KEYS:
            raise BadKey("this holds a secret key: give the public key (gpg --export)")
        if tag == PUBLIC_KEY:
            found.append(fingerprint(body))
    if not found:
        raise BadKey("no public key packet in the key")
    return found


def normal(fingerprint_text: str) -> str:
    """A fingerprint as written by people (spaces, lower case) in the form compared: 40 or 64 hex digits."""
    return re.sub(r"\s+", "", fingerprint_text).upper()
