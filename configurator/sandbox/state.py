"""The sandbox as recorded in ``state.json``: hosts, their processes and the proxy."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import SandboxError
from .layout import PROXY_URL
from .process import ProcessRef
from .releases import DEFAULT

FORMAT = 1


class Launched:
    """A host booted through a launcher: its init and the ``unshare`` that waits for it, as recorded."""

    pid: int
    pid_start: int
    launcher_pid: int
    launcher_start: int

    @property
    def init(self) -> ProcessRef:
        """The recorded init process."""
        return ProcessRef(self.pid, self.pid_start)

    @property
    def launcher(self) -> ProcessRef:
        """The recorded ``unshare`` process that waits for the init."""
        return ProcessRef(self.launcher_pid, self.launcher_start)


@dataclass(frozen=True)
class SandboxHost(Launched):
    """One booted host: ``pid`` is its init (systemd) as seen from the machine."""

    name: str
    address: str
    pid: int
    veth: str
    index: int = 0
    pid_start: int = 0
    launcher_pid: int = 0
    launcher_start: int = 0
    host_dir: Path = field(default=Path())
    cgroup: Path = field(default=Path())
    release: str = DEFAULT  # a state.json written before releases existed holds bookworm hosts


@dataclass(frozen=True)
class Sandbox:
    """A set of hosts plus the files a client needs to reach them."""

    hosts: tuple[SandboxHost, ...]
    state_dir: Path
    key_path: Path
    known_hosts: Path
    inventory_path: Path
    proxy_url: str = PROXY_URL
    proxy: ProcessRef | None = None

    def host(self, name: str) -> SandboxHost:
        """Return the host called ``name``."""
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)


def empty(state_dir: Path) -> Sandbox:
    """Return a sandbox with no hosts whose files live in ``state_dir``."""
    return Sandbox(
        hosts=(),
        state_dir=state_dir,
        key_path=state_dir / "id_ed25519",
        known_hosts=state_dir / "known_hosts",
        inventory_path=state_dir / "inventory.yml",
    )


def state_file(state_dir: Path) -> Path:
    """Return the path of ``state.json``."""
    return state_dir / "state.json"


def _host_json(host: SandboxHost) -> dict[str, Any]:
    """Return the JSON form of a host."""
    data = {k: getattr(host, k) for k in host.__dataclass_fields__}
    return {k: str(v) if isinstance(v, Path) else v for k, v in data.items()}


def _host_from(data: dict[str, Any]) -> SandboxHost:
    """Build a host from its JSON form."""
    paths = {k: Path(data[k]) for k in ("host_dir", "cgroup")}
    return SandboxHost(**{**data, **paths})


def dumps(sandbox: Sandbox) -> str:
    """Return the text of ``state.json``."""
    proxy = None if sandbox.proxy is None else [sandbox.proxy.pid, sandbox.proxy.start]
    hosts = [_host_json(h) for h in sandbox.hosts]
    data = {"format": FORMAT, "proxy": proxy, "proxy_url": sandbox.proxy_url, "hosts": hosts}
    return json.dumps(data, indent=2) + "\n"


def loads(text: str, state_dir: Path) -> Sandbox:
    """Parse the text of ``state.json``."""
    data = json.loads(text)
    if data.get("format") != FORMAT:
        raise SandboxError(f"{state_file(state_dir)}: unknown format {data.get('format')!r}")
    proxy = ProcessRef(*data["proxy"]) if data.get("proxy") else None
    hosts = tuple(_host_from(h) for h in data["hosts"])
    return replace(empty(state_dir), hosts=hosts, proxy_url=data.get("proxy_url", PROXY_URL), proxy=proxy)


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Write a file atomically: temporary file in the same directory, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def save(sandbox: Sandbox) -> None:
    """Write ``state.json``."""
    write_atomic(state_file(sandbox.state_dir), dumps(sandbox))


def load(state_dir: Path) -> Sandbox | None:
    """Read ``state.json``; None when there is none."""
    try:
        text = state_file(state_dir).read_text()
    except FileNotFoundError:
        return None
    return loads(text, state_dir)
