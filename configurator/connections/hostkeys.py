"""Host keys: strict checking against known_hosts, for a host and each of its bastions."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import paramiko

from configurator.connections.route import Hop
from configurator.errors import Unreachable


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
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="ascii") as out:
                out.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")


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
        client.set_missing_host_key_policy(AcceptNew(self.known) if self.accept_new else Refuse())


def known_entries(path: str, address: str, port: int) -> list[paramiko.hostkeys.HostKeyEntry]:
    """The known_hosts entries that can name this host (exact or hashed, as paramiko matches them).

    Only those lines are parsed: parsing every key of a large known_hosts for every host of a
    run costs ~45 µs a line.
    """
    names = {address, f"[{address}]:{port}"}
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise Unreachable(f"cannot read known_hosts {path}: {exc.strerror or exc}") from None
    entries = []
    for line in lines:
        field = line.split(None, 1)[0] if line.strip() and not line.lstrip().startswith("#") else ""
        if field.startswith(("|1|", "@")) or names.intersection(field.split(",")):
            with contextlib.suppress(paramiko.SSHException):  # a line paramiko cannot read: skipped, as it does
                entry = paramiko.hostkeys.HostKeyEntry.from_line(line)
                if entry is not None:
                    entries.append(entry)
    return entries
