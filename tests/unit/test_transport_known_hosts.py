"""known_hosts: only the lines that can name the host are parsed, with paramiko's matching."""

from __future__ import annotations

import paramiko
import pytest

from configurator.connections import hostkeys
from configurator.connections.route import Hop
from configurator.errors import Unreachable


def ed25519_line(names: str) -> tuple[str, str]:
    """A known_hosts line for `names` with a fresh ed25519 key, and that key's base64."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return f"{names} {public}", public.split()[1]


def hashed(name: str) -> str:
    return paramiko.HostKeys.hash_host(name)


@pytest.mark.parametrize(("names", "port", "matches"), [
    ("198.18.0.20", 22, True),
    ("web1,198.18.0.20", 22, True),
    ("[198.18.0.20]:2222", 2222, True),
    ("198.18.0.21", 22, False),
    ("198.18.0.2", 22, False),
])
def test_entries_for_the_host_only(tmp_path, names, port, matches):
    line, key = ed25519_line(names)
    other, _ = ed25519_line("198.18.0.99")
    path = tmp_path / "known_hosts"
    path.write_text(f"# a comment\n\n{other}\n{line}\nnot a valid line\n")
    found = hostkeys.known_entries(str(path), "198.18.0.20", port)
    assert [e.key.get_base64() for e in found] == ([key] if matches else [])


def test_a_hashed_entry_is_kept_and_matched_like_paramiko_does(tmp_path):
    line, key = ed25519_line(hashed("198.18.0.20"))
    path = tmp_path / "known_hosts"
    path.write_text(line + "\n")
    client = paramiko.SSHClient()
    hostkeys.HostKeys(str(path), False).apply(client, Hop("198.18.0.20", 22, "root"))
    assert client.get_host_keys().lookup("198.18.0.20")["ssh-ed25519"].get_base64() == key
    assert client.get_host_keys().lookup("198.18.0.21") is None


def test_a_missing_file_knows_nothing_and_an_unreadable_one_is_an_error(tmp_path):
    assert hostkeys.known_entries(str(tmp_path / "missing"), "198.18.0.20", 22) == []
    with pytest.raises(Unreachable, match="cannot read known_hosts"):
        hostkeys.known_entries(str(tmp_path), "198.18.0.20", 22)


@pytest.mark.parametrize("port", [22, 2222])
def test_only_the_hosts_own_hashed_lines_are_parsed(tmp_path, monkeypatch, port):
    name = hostkeys.known_name("198.18.0.20", port)
    own, key = ed25519_line(hashed(name))
    others = [ed25519_line(hashed(f"198.18.0.{n}"))[0] for n in range(30, 40)]
    path = tmp_path / "known_hosts"
    path.write_text("\n".join([*others[:5], own, *others[5:], "|1|not base64|x= ssh-ed25519 AAAA"]) + "\n")
    parsed = []
    real = paramiko.hostkeys.HostKeyEntry.from_line
    monkeypatch.setattr(paramiko.hostkeys.HostKeyEntry, "from_line",
                        staticmethod(lambda line, lineno=None: parsed.append(line) or real(line, lineno)))
    found = hostkeys.known_entries(str(path), "198.18.0.20", port)
    assert [e.key.get_base64() for e in found] == [key] and parsed == [own]


def test_a_key_recorded_during_the_run_is_seen_by_the_next_connection(tmp_path):
    first, _ = ed25519_line("198.18.0.20")
    path = tmp_path / "known_hosts"
    path.write_text(first + "\n")
    assert hostkeys.known_entries(str(path), "198.18.0.21", 22) == []
    added, key = ed25519_line("198.18.0.21")
    with open(path, "a", encoding="ascii") as out:  # as AcceptNew records a first key
        out.write(added + "\n")
    assert [e.key.get_base64() for e in hostkeys.known_entries(str(path), "198.18.0.21", 22)] == [key]
    path.write_text(first + "\n")  # replaced (configure hostkeys forget): the old index is not used
    assert hostkeys.known_entries(str(path), "198.18.0.21", 22) == []
