"""known_hosts as `configure hostkeys` reads and edits it: exact, hashed and port-qualified names; damaged lines."""

from __future__ import annotations

import base64
import hashlib

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from configurator.connections import hostkeys


def _key() -> tuple[str, str]:
    """A fresh ed25519 public key (base64 as known_hosts holds it) and its SHA256 fingerprint."""
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                                 serialization.PublicFormat.OpenSSH)
    blob = raw.split()[1].decode()
    digest = base64.b64encode(hashlib.sha256(base64.b64decode(blob)).digest()).decode().rstrip("=")
    return blob, f"SHA256:{digest}"


@pytest.fixture
def known(tmp_path):
    (a, fa), (b, fb), (c, _) = _key(), _key(), _key()
    hashed = paramiko.HostKeys.hash_host("192.0.2.7")
    path = tmp_path / "known_hosts"
    path.write_text(f"# comment\nweb1,192.0.2.5 ssh-ed25519 {a}\n[192.0.2.5]:2222 ssh-ed25519 {c}\n"
                    f"{hashed} ssh-ed25519 {b}\nother ssh-ed25519 {c}\n")
    path.chmod(0o640)
    return path, fa, fb


def test_recorded_finds_exact_names_only_on_their_port(known):
    path, fa, _ = known
    found = hostkeys.recorded(str(path), "192.0.2.5", 22)
    assert [(r.line, r.names, r.fingerprint) for r in found] == [(2, "web1,192.0.2.5", fa)]
    assert [r.line for r in hostkeys.recorded(str(path), "192.0.2.5", 2222)] == [3]


def test_recorded_finds_hashed_names(known):
    path, _, fb = known
    assert [(r.line, r.fingerprint) for r in hostkeys.recorded(str(path), "192.0.2.7", 22)] == [(4, fb)]


def test_forget_removes_only_that_hosts_lines_and_keeps_the_mode(known):
    path, fa, _ = known
    before = path.read_text().splitlines()
    assert [r.fingerprint for r in hostkeys.forget(str(path), "192.0.2.5", 22)] == [fa]
    assert path.read_text().splitlines() == [before[0], *before[2:]]
    assert path.stat().st_mode & 0o777 == 0o640
    assert hostkeys.forget(str(path), "192.0.2.5", 22) == []


def test_a_damaged_line_is_skipped_not_a_crash(known):
    path, fa, _ = known
    path.write_text(path.read_text() + "192.0.2.5 ssh-ed25519 AAAAnot-base64-at-all=x\n")
    assert [r.fingerprint for r in hostkeys.recorded(str(path), "192.0.2.5", 22)] == [fa]
    assert len(hostkeys.known_entries(str(path), "192.0.2.5", 22)) == 1  # line 2 (the hashed line 4 is 192.0.2.7)
