"""Light hosts as recorded in ``light.json`` beside ``state.json``, and the client lines for them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import SandboxError
from .keys import host_public_key
from .state import Launched, write_atomic

FORMAT = 1
LIGHT_GROUP = "light"


@dataclass(frozen=True)
class LightHost(Launched):
    """One booted light host: ``pid`` is its sshd (PID 1 of its own PID namespace)."""

    name: str
    index: int
    address: str
    port: int
    slot: int
    pid: int = 0
    pid_start: int = 0
    launcher_pid: int = 0
    launcher_start: int = 0


def light_dir(state_dir: Path) -> Path:
    """Return the folder of the light hosts' seed trees and consoles."""
    return state_dir / "light"


def state_path(state_dir: Path) -> Path:
    """Return the path of ``light.json``."""
    return state_dir / "light.json"


def dumps(hosts: Sequence[LightHost]) -> str:
    """Return the text of ``light.json``."""
    return json.dumps({"format": FORMAT, "hosts": [asdict(h) for h in hosts]}, indent=1) + "\n"


def loads(text: str) -> tuple[LightHost, ...]:
    """Parse the text of ``light.json``."""
    data = json.loads(text)
    if data.get("format") != FORMAT:
        raise SandboxError(f"light.json: unknown format {data.get('format')!r}")
    return tuple(LightHost(**h) for h in data["hosts"])


def load(state_dir: Path) -> tuple[LightHost, ...]:
    """Return the recorded light hosts (none when nothing is recorded)."""
    try:
        return loads(state_path(state_dir).read_text())
    except FileNotFoundError:
        return ()


def save(state_dir: Path, hosts: Sequence[LightHost]) -> None:
    """Record the light hosts (removing the record when there are none)."""
    if hosts:
        write_atomic(state_path(state_dir), dumps(sorted(hosts, key=lambda h: h.index)))
    else:
        state_path(state_dir).unlink(missing_ok=True)


def known_name(host: LightHost) -> str:
    """How known_hosts names the host: ``name,address`` on port 22, ``name,[address]:port`` elsewhere."""
    where = host.address if host.port == 22 else f"[{host.address}]:{host.port}"
    return f"{host.name},{where}"


def known_hosts_lines(hosts: Sequence[LightHost], public_keys: Sequence[str]) -> str:
    """Return the known_hosts lines of the light hosts, given each one's public host key line."""
    lines = []
    for host, public in zip(hosts, public_keys, strict=True):
        key_type, key_data = public.split()[:2]
        lines.append(f"{known_name(host)} {key_type} {key_data}\n")
    return "".join(lines)


def inventory_lines(hosts: Sequence[LightHost]) -> tuple[list[str], list[str]]:
    """Return the inventory's host lines and group lines of the light hosts (group ``light``)."""
    if not hosts:
        return [], []
    lines = [f"  {h.name}: {{address: {h.address}, port: {h.port}}}" for h in hosts]
    names = ", ".join(h.name for h in hosts)
    return lines, [f"  {LIGHT_GROUP}: {{hosts: [{names}]}}"]


def seed_dir(state_dir: Path, name: str) -> Path:
    """Return the folder of a light host on the machine: its seed tree and its console.log."""
    return light_dir(state_dir) / "hosts" / name


def seed_tree(state_dir: Path, name: str) -> Path:
    """Return the tree of the host's own files, laid over the base (host.prepare writes it as "upper")."""
    return seed_dir(state_dir, name) / "upper"


def public_keys(state_dir: Path, hosts: Sequence[LightHost]) -> list[str]:
    """Return the public host key line of each light host, read from its seed tree."""
    return [host_public_key(seed_tree(state_dir, h.name)) for h in hosts]


def client_parts(state_dir: Path) -> tuple[str, tuple[list[str], list[str]]]:
    """Return the recorded light hosts' known_hosts lines and their inventory host and group lines."""
    hosts = load(state_dir)
    return known_hosts_lines(hosts, public_keys(state_dir, hosts)), inventory_lines(hosts)
