"""OpenPGP keys read on the control machine: armor in, packets and fingerprints out, as data."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from configurator.resources import openpgp

# Debian 12 (bookworm) stable release key, as `gpg --export --armor` writes it; its fingerprint is the
# one Debian publishes (https://ftp-master.debian.org/keys.html) and gpg prints for the same packets.
DEBIAN_12 = """\
-----BEGIN PGP PUBLIC KEY BLOCK-----

mDMEY865UxYJKwYBBAHaRw8BAQdAd7Z0srwuhlB6JKFkcf4HU4SSS/xcRfwEQWzr
crf6AEq0SURlYmlhbiBTdGFibGUgUmVsZWFzZSBLZXkgKDEyL2Jvb2t3b3JtKSA8
ZGViaWFuLXJlbGVhc2VAbGlzdHMuZGViaWFuLm9yZz6IlgQTFggAPhYhBE1k/sEZ
wgKQZ9bnkfjSWFuHg9SBBQJjzrlTAhsDBQkPCZwABQsJCAcCBhUKCQgLAgQWAgMB
Ah4BAheAAAoJEPjSWFuHg9SBSgwBAP9qpeO5z1s5m4D4z3TcqDo1wez6DNya27QW
WoG/4oBsAQCEN8Z00DXagPHbwrvsY2t9BCsT+PgnSn9biobwX7bDDg==
=5NZE
-----END PGP PUBLIC KEY BLOCK-----
"""
DEBIAN_12_FPR = "4D64FEC119C2029067D6E791F8D2585B8783D481"
DEBIAN_12_SHA256 = "1891e84fa2e1ff6db0acfbc0e398824379b415534dd0154ecb1d21e70fe2ac62"  # of the binary export
PACKETS = openpgp.dearmor(DEBIAN_12)
BODY = PACKETS[2:2 + PACKETS[1]]  # the primary key packet (old format, one length byte: 0x98 0x33)


def test_dearmor_gives_the_packets_gpg_exports() -> None:
    assert hashlib.sha256(PACKETS).hexdigest() == DEBIAN_12_SHA256
    assert PACKETS[:2] == b"\x98\x33"


def test_fingerprint_of_a_known_key() -> None:
    assert openpgp.primary_fingerprints(PACKETS) == [DEBIAN_12_FPR]
    assert openpgp.fingerprint(BODY) == DEBIAN_12_FPR


@pytest.mark.parametrize("text", [
    DEBIAN_12.replace("\n\n", "\nVersion: GnuPG v2\nComment: a comment: with a colon\n\n", 1),
    DEBIAN_12.replace("\n", "\r\n"),
    DEBIAN_12.replace("=5NZE\n", ""),  # the checksum is optional (RFC 9580)
    "some text before\n" + DEBIAN_12 + "and after\n",
    DEBIAN_12.replace("\n\n", "\n", 1),  # no blank line after the (absent) headers
    "  " + DEBIAN_12.replace("\n", "  \n"),  # surrounding spaces, as YAML block scalars may leave
])
def test_dearmor_accepts_what_tools_write(text: str) -> None:
    assert openpgp.dearmor(text) == PACKETS


def test_two_blocks_are_concatenated() -> None:
    assert openpgp.dearmor(DEBIAN_12 + DEBIAN_12) == PACKETS + PACKETS
    assert openpgp.primary_fingerprints(PACKETS + PACKETS) == [DEBIAN_12_FPR, DEBIAN_12_FPR]


@pytest.mark.parametrize(("text", "message"), [
    (DEBIAN_12.replace("=5NZE", "=5NZF"), "checksum"),
    (DEBIAN_12.replace("mDMEY865", "mDMEY866"), "checksum"),
    (DEBIAN_12.replace("-----END PGP PUBLIC KEY BLOCK-----\n", ""), "no -----END"),
    ("hello", "no -----BEGIN"),
    (DEBIAN_12.replace("mDMEY865", "mDM*Y865"), "not valid base64"),
    (DEBIAN_12.replace("PUBLIC KEY", "PRIVATE KEY"), "private key block"),
])
def test_dearmor_refuses_damage(text: str, message: str) -> None:
    with pytest.raises(openpgp.BadKey, match=message):
        openpgp.dearmor(text)


def new_format(tag: int, body: bytes) -> bytes:
    """A new-format packet header (two-byte length when needed) around `body`."""
    size = len(body)
    if size < 192:
        return bytes([0xC0 | tag, size]) + body
    size -= 192
    return bytes([0xC0 | tag, (size >> 8) + 192, size & 0xFF]) + body


@pytest.mark.parametrize("data", [
    new_format(6, BODY),
    bytes([0x99]) + len(BODY).to_bytes(2, "big") + BODY,  # old format, two length bytes
    bytes([0x9A]) + len(BODY).to_bytes(4, "big") + BODY,  # old format, four length bytes
    bytes([0xC6, 0xFF]) + len(BODY).to_bytes(4, "big") + BODY,  # new format, five-byte length
    new_format(6, BODY) + new_format(13, b"someone <a@b>") + new_format(14, BODY) + new_format(2, b"x" * 300),
])
def test_packet_headers_of_every_form(data: bytes) -> None:
    assert openpgp.primary_fingerprints(data) == [DEBIAN_12_FPR]


@pytest.mark.parametrize(("data", "message"), [
    (b"Hello", "not OpenPGP packets"),
    (new_format(6, BODY)[:-1], "cut short"),
    (new_format(5, BODY), "secret key"),
    (new_format(13, b"only a user id"), "no public key packet"),
    (new_format(6, b"\x03" + BODY[1:]), "version 3"),
    (bytes([0x9B]) + BODY, "indeterminate length"),
    (b"", "no public key packet"),
])
def test_packets_refused(data: bytes, message: str) -> None:
    with pytest.raises(openpgp.BadKey, match=message):
        openpgp.primary_fingerprints(data)


def test_v6_fingerprint_is_sha256_over_a_four_byte_length() -> None:
    body = b"\x06" + BODY[1:]
    expected = hashlib.sha256(b"\x9b" + len(body).to_bytes(4, "big") + body).hexdigest().upper()
    assert openpgp.fingerprint(body) == expected and len(expected) == 64


@pytest.mark.parametrize(("data", "packets"), [
    (DEBIAN_12.encode(), PACKETS),
    (PACKETS, PACKETS),
])
def test_key_bytes_takes_either_form(data: bytes, packets: bytes) -> None:
    assert openpgp.key_bytes(data) == packets


def test_crc24_matches_the_armor_line() -> None:
    # the armor line of the Debian key is the CRC-24 of its packets
    assert openpgp.crc24(PACKETS) == int.from_bytes(base64.b64decode("5NZE"), "big")
    assert openpgp.crc24(b"") == 0xB704CE


@pytest.mark.parametrize(("written", "normal"), [
    ("4d64 fec1 19c2 0290 67d6  e791 f8d2 585b 8783 d481", DEBIAN_12_FPR),
    (DEBIAN_12_FPR, DEBIAN_12_FPR),
])
def test_fingerprints_as_people_write_them(written: str, normal: str) -> None:
    assert openpgp.normal(written) == normal and openpgp.FINGERPRINT.match(normal)


@pytest.mark.skipif(not Path("/usr/share/keyrings/debian-archive-keyring.gpg").exists(),
                    reason="needs debian-archive-keyring")
def test_the_debian_archive_keyring_holds_the_bookworm_key() -> None:
    found = openpgp.primary_fingerprints(Path("/usr/share/keyrings/debian-archive-keyring.gpg").read_bytes())
    assert DEBIAN_12_FPR in found and len(found) == len(set(found)) > 1
