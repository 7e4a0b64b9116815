"""Host keys: strict checking against known_hosts, for a host and each of its bastions; showing, forgetting
and replacing a host's recorded keys on purpose (`configure hostkeys`)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import hashlib
import hmac
import os
import socket
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import paramiko

from configurator.connections.route import Hop
from configurator.errors import Unreachable
from configurator.vault.files import mode_of, write_atomic

# a known_hosts line paramiko cannot read (bad base64 raises InvalidHostKey, which is no SSHException): skipped
UNREADABLE = (paramiko.SSHException, paramiko.hostkeys.InvalidHostKey, ValueError)
KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512")


def refuse_other_type(client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
    """A host known under other key types that now offers a new type is a changed key, not a new host."""
    known = client.get_host_keys().lookup(hostname)
    if known:
        raise Unreachable(f"host key for {hostname} CHANGED: known as {', '.join(sorted(known.keys()))}, "
                          f"now offers {key.get_name()} {key.fingerprint}; refusing to connect")


class AcceptNew(paramiko.MissingHostKeyPolicy):
    """Accept and record a host key never seen before; a changed key still fails."""

    def __init__(self, path: str | None) -> None:
        self.path = path

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        refuse_other_type(client, hostname, key)
        client.get_host_keys().add(hostname, key.get_name(), key)
        if self.path:
            record(self.path, hostname, key)


def record(path: str, hostname: str, key: paramiko.PKey) -> None:
    """Append `hostname`'s key to known_hosts (made with its folder when missing)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="ascii") as out:
        out.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")


class Pinned(AcceptNew):
    """First contact with a host whose key the inventory gives (`host_key: SHA256:...`): recorded when it
    matches, else refused with both fingerprints."""

    def __init__(self, path: str | None, expected: str) -> None:
        super().__init__(path)
        self.expected = expected

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        refuse_other_type(client, hostname, key)
        if key.fingerprint != self.expected:
            raise Unreachable(f"host key {key.get_name()} {key.fingerprint} of {hostname} does not match its "
                              f"host_key {self.expected} in the inventory; refusing to connect")
        super().missing_host_key(client, hostname, key)


class Refuse(paramiko.MissingHostKeyPolicy):
    """Strict host-key checking: an unknown key is refused with a way out."""

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        refuse_other_type(client, hostname, key)
        fingerprint = key.fingerprint
        raise Unreachable(f"unknown host key {fingerprint} for {hostname}; if it is right, "
                          "run again with --accept-new (or add it to known_hosts)")


@dataclass(frozen=True)
class HostKeys:
    """The known_hosts file and the policy for keys not in it; the same for a host and its bastions."""

    path: str | None
    accept_new: bool
    pinned: str | None = None  # the inventory's `host_key` fingerprint: a first key is recorded when it matches

    @property
    def known(self) -> str:
        """The known_hosts file in use."""
        return self.path or str(Path("~/.ssh/known_hosts").expanduser())

    def apply(self, client: paramiko.SSHClient, hop: Hop) -> None:
        """Load the known keys of `hop` into `client` and set its policy for unknown ones."""
        found = client.get_host_keys()
        for entry in known_entries(self.known, hop.address, hop.port):
            for name in entry.hostnames:
                found.add(name, entry.key.get_name(), entry.key)
        client.set_missing_host_key_policy(policy(self.known, self.accept_new, self.pinned))


def policy(known: str, accept_new: bool, pinned: str | None) -> paramiko.MissingHostKeyPolicy:
    """What to do with a key never seen: the inventory's fingerprint decides, else --accept-new, else refuse."""
    if pinned:
        return Pinned(known, pinned)
    return AcceptNew(known) if accept_new else Refuse()


def known_entries(path: str, address: str, port: int) -> list[paramiko.hostkeys.HostKeyEntry]:
    """The known_hosts entries that can name this host (exact or hashed, as paramiko matches them).

    Only those lines are parsed (parsing a key costs ~45 µs), and the file is indexed once per version
    of it, not read again for every host of a run: with 1,000 hosts, reading it whole on every connect
    was the one cost per host that grew with the number of hosts.
    """
    index = _indexed(path)
    numbers = sorted({*_naming(index, (address, f"[{address}]:{port}")), *index.marked})
    return [entry for _, entry in _parsed(index, numbers)]


@dataclass(frozen=True)
class _Index:
    """A known_hosts file's lines by the names they carry."""

    lines: list[str]
    plain: dict[str, list[int]]  # name or [name]:port -> numbers of the lines naming it
    hashed: list[tuple[int, bytes, bytes]]  # |1|salt|hash lines: number, salt, HMAC-SHA1 of the name
    marked: list[int]  # @cert-authority, @revoked: left to paramiko as before


def _naming(index: _Index, names: Sequence[str]) -> list[int]:
    """The numbers of the lines that name one of `names`, exactly or hashed, in the file's order."""
    numbers = {n for name in names for n in index.plain.get(name, ())}
    numbers.update(n for n, salt, digest in index.hashed if any(_hashes_to(name, salt, digest) for name in names))
    return sorted(numbers)


def _parsed(index: _Index, numbers: Iterable[int]) -> Iterator[tuple[int, paramiko.hostkeys.HostKeyEntry]]:
    """The entries of these lines that paramiko can read (the others skipped, as ssh does, rather than failing)."""
    for number in numbers:
        with contextlib.suppress(*UNREADABLE):
            entry = paramiko.hostkeys.HostKeyEntry.from_line(index.lines[number])
            if entry is not None:
                yield number, entry


def _indexed(path: str) -> _Index:
    try:
        seen = os.stat(path)
        return _index_of(path, (seen.st_dev, seen.st_ino, seen.st_mtime_ns, seen.st_ctime_ns, seen.st_size))
    except FileNotFoundError:
        return _Index([], {}, [], [])
    except OSError as exc:
        raise Unreachable(f"cannot read known_hosts {path}: {exc.strerror or exc}") from None


@functools.lru_cache(maxsize=8)
def _index_of(path: str, version: tuple[int, ...]) -> _Index:
    """The index of one version of the file (`version`: its device, inode, times and size)."""
    index = _Index(Path(path).read_text(encoding="utf-8", errors="replace").splitlines(), {}, [], [])
    for number, line in enumerate(index.lines):
        field = line.split(None, 1)[0] if line.strip() and not line.lstrip().startswith("#") else ""
        if field.startswith("@"):
            index.marked.append(number)
        elif field.startswith("|1|"):
            with contextlib.suppress(ValueError, binascii.Error):  # not base64: a line paramiko skips too
                _, _, salt, digest = field.split("|", 3)
                index.hashed.append((number, base64.b64decode(salt), base64.b64decode(digest)))
        else:
            for name in filter(None, field.split(",")):
                index.plain.setdefault(name, []).append(number)
    return index


def _hashes_to(name: str, salt: bytes, digest: bytes) -> bool:
    """Whether a hashed known_hosts name is `name` (ssh's HashKnownHosts: HMAC-SHA1 keyed by the salt)."""
    return hmac.compare_digest(hmac.new(salt, name.encode(), hashlib.sha1).digest(), digest)


def known_name(address: str, port: int) -> str:
    """How known_hosts names a host: its address, or `[address]:port` off port 22 (as ssh and paramiko do)."""
    return address if port == 22 else f"[{address}]:{port}"


@dataclass(frozen=True)
class Recorded:
    """One known_hosts line that names a host."""

    line: int
    names: str
    key_type: str
    fingerprint: str


def recorded(path: str, address: str, port: int) -> list[Recorded]:
    """The known_hosts lines (1-based) that hold a key for this host, exact or hashed."""
    index = _indexed(path)
    return [Recorded(number + 1, index.lines[number].split(None, 1)[0], entry.key.get_name(), entry.key.fingerprint)
            for number, entry in _parsed(index, _naming(index, (known_name(address, port),)))]


def forget(path: str, address: str, port: int) -> list[Recorded]:
    """Remove the lines holding this host's keys (the file replaced atomically, its mode kept); what was removed."""
    gone = recorded(path, address, port)
    if not gone:
        return []
    drop = {r.line for r in gone}
    lines = Path(path).read_bytes().splitlines(keepends=True)
    write_atomic(Path(path), b"".join(line for n, line in enumerate(lines, 1) if n not in drop),
                 mode_of(Path(path), 0o600))
    return gone


def offered(hop: Hop, timeout: float) -> list[paramiko.PKey]:
    """The host keys a host offers, one SSH handshake per key type (no login, nothing recorded)."""
    keys = []
    for key_type in KEY_TYPES:
        others = [t for t in KEY_TYPES + ("rsa-sha2-256",) if t != key_type]
        try:
            sock = socket.create_connection((hop.address, hop.port), timeout=timeout)
        except OSError as exc:
            raise Unreachable(f"connect to {hop.address}:{hop.port} failed: {exc.strerror or exc}") from None
        transport = paramiko.Transport(sock, disabled_algorithms={"keys": others})
        try:
            transport.start_client(timeout=timeout)
            keys.append(transport.get_remote_server_key())
        except (paramiko.SSHException, OSError, EOFError):
            continue  # the host has no key of this type
        finally:
            transport.close()
    if not keys:
        raise Unreachable(f"{hop.address}:{hop.port} offered no host key")
    return keys
