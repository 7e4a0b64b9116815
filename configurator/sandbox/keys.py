"""SSH keys of the sandbox: the root login key, per-host host keys, and known_hosts lines."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

HOST_KEY = "etc/ssh/ssh_host_ed25519_key"


def generate(path: Path, comment: str) -> None:
    """Generate an ed25519 key pair at ``path`` (and ``path``.pub), replacing any old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in (path, path.with_name(path.name + ".pub")):
        old.unlink(missing_ok=True)
    argv = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)]
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, capture_output=True)


def ensure_client_key(path: Path) -> str:
    """Create the root login key once; return its public line."""
    pub = path.with_name(path.name + ".pub")
    if not (path.exists() and pub.exists()):
        generate(path, "configurator-sandbox")
    return pub.read_text().strip()


def make_host_key(root: Path, name: str) -> str:
    """Generate the host key of one host inside its root tree; return the public line."""
    key = root / HOST_KEY
    generate(key, f"root@{name}")
    key.chmod(0o600)
    return key.with_name(key.name + ".pub").read_text().strip()


def host_public_key(root: Path) -> str:
    """Return the public host key line stored in a host's root tree."""
    return (root / (HOST_KEY + ".pub")).read_text().strip()


def known_hosts_line(name: str, address: str, public_line: str) -> str:
    """Return a known_hosts line for a host under its name and its address."""
    key_type, key_data = public_line.split()[:2]
    return f"{name},{address} {key_type} {key_data}"


def known_hosts_text(entries: Iterable[tuple[str, str, str]]) -> str:
    """Return a known_hosts file for (name, address, public key line) entries."""
    return "".join(known_hosts_line(*entry) + "\n" for entry in entries)
