"""`configure hostkeys` on node42: show the recorded key, forget it, replace it only on purpose.

The test works on a private copy of node42's known_hosts line, so the sandbox's shared file is never rewritten.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from engine_helpers import configure, sh, ssh_settings, write_inventory

HOST = "node42"
WRONG = "SHA256:" + "A" * 43


def _other_key() -> str:
    """Another ed25519 public key, base64 as known_hosts holds it."""
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                                 serialization.PublicFormat.OpenSSH)
    return raw.split()[1].decode()


@pytest.fixture
def lab(sandbox, tmp_path):
    """An inventory naming node42, with its own known_hosts holding only node42's recorded key."""
    host = sandbox.host(HOST)
    known = tmp_path / "known_hosts"
    recorded = sandbox.known_hosts.read_text().splitlines()
    lines = [line for line in recorded if host.address in line.split()[0].split(",")]
    known.write_text("# kept by the test\n" + "\n".join(lines) + "\n")
    inventory = write_inventory(sandbox, tmp_path / "inv.yml", {"lab": {"hosts": [HOST]}},
                                ssh=ssh_settings(sandbox, known_hosts=str(known)))
    fingerprint = sh(host, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub").split()[1]
    return inventory, known, fingerprint


def test_show_prints_the_recorded_fingerprint(lab, capsys):
    inventory, known, fingerprint = lab
    assert configure("hostkeys", "show", inventory, HOST)[0] == 0
    out = capsys.readouterr().out
    assert f"ssh-ed25519 {fingerprint}" in out and f"{known}:2" in out


def test_forget_then_a_run_needs_accept_new(lab, capsys):
    inventory, known, fingerprint = lab
    assert configure("hostkeys", "forget", inventory, HOST)[0] == 0
    assert known.read_text() == "# kept by the test\n"  # only the host's line went
    capsys.readouterr()
    assert configure("facts", inventory, HOST)[0] == 3
    assert f"unknown host key {fingerprint}" in capsys.readouterr().err
    assert known.read_text() == "# kept by the test\n"  # nothing recorded without --accept-new
    assert configure("facts", inventory, HOST, "--accept-new")[0] == 0
    assert configure("hostkeys", "show", inventory, HOST)[0] == 0
    assert f"ssh-ed25519 {fingerprint}" in capsys.readouterr().out


def test_replace_with_a_wrong_fingerprint_is_refused(lab, capsys):
    inventory, known, _ = lab
    before = known.read_bytes()
    assert configure("hostkeys", "replace", inventory, HOST, WRONG)[0] == 3
    assert f"not {WRONG}" in capsys.readouterr().err
    assert known.read_bytes() == before


def test_replace_records_the_key_a_rebuilt_host_offers(lab, capsys, tmp_path):
    inventory, known, fingerprint = lab
    address = known.read_text().splitlines()[1].split()[0]
    stale = _other_key()  # the host's key before a rebuild
    known.write_text(f"{address} ssh-ed25519 {stale}\n")
    assert configure("facts", inventory, HOST)[0] == 3  # a changed key is refused
    assert configure("hostkeys", "replace", inventory, HOST, "--accept-new")[0] == 65  # a key is still recorded
    assert stale in known.read_text()
    assert configure("hostkeys", "replace", inventory, HOST, fingerprint)[0] == 0
    assert stale not in known.read_text() and configure("facts", inventory, HOST)[0] == 0
    assert f"recorded ssh-ed25519 {fingerprint}" in capsys.readouterr().out


def test_replace_with_accept_new_after_forget(lab, capsys):
    inventory, known, fingerprint = lab
    assert configure("hostkeys", "forget", inventory, HOST)[0] == 0
    assert configure("hostkeys", "replace", inventory, HOST, "--accept-new")[0] == 0
    assert configure("facts", inventory, HOST)[0] == 0
    assert f"recorded ssh-ed25519 {fingerprint}" in capsys.readouterr().out
    assert Path(known).read_text().count("ssh-ed25519") == 1
