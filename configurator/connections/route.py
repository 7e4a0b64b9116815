"""How to reach a host: its address, user, port, keys and bastions, from the inventory and the ssh config."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko

from configurator.errors import InputError
from configurator.model.inventory import Host
from configurator.model.inventory_values import jump, port

SSH_CONFIG_ENV = "CONFIGURE_SSH_CONFIG"  # the OpenSSH client config to read instead of ~/.ssh/config


@dataclass(frozen=True)
class Hop:
    """One SSH connection on the way to a host: the host itself or a bastion."""

    address: str
    port: int
    user: str

    def __str__(self) -> str:
        return f"{self.user}@{self.address}:{self.port}"


@dataclass(frozen=True)
class Route:
    """How to reach a host: its bastions then itself (`hops`), or a ProxyCommand; which keys to offer."""

    hops: tuple[Hop, ...]
    identities: tuple[str, ...] = ()
    proxy_command: str | None = None
    agent: bool = True  # also offer the ssh agent's keys (not when the inventory names the key)

    @property
    def target(self) -> Hop:
        """The host itself (the last hop)."""
        return self.hops[-1]


def ssh_config(name: str) -> dict[str, Any]:
    """The OpenSSH client config for `name`, from $CONFIGURE_SSH_CONFIG or ~/.ssh/config ({} when none)."""
    path = Path(os.environ.get(SSH_CONFIG_ENV) or "~/.ssh/config").expanduser()
    try:
        changed = path.stat().st_mtime_ns
    except OSError:
        return {}
    try:
        found: dict[str, Any] = _parsed(str(path), changed).lookup(name)
    except (OSError, UnicodeDecodeError, paramiko.SSHException) as exc:
        raise InputError(f"cannot use the ssh config {path}: {exc}") from None
    return found


@functools.lru_cache(maxsize=4)
def _parsed(path: str, changed: int) -> paramiko.SSHConfig:
    """The parsed config, once per file version (every host of a run looks it up)."""
    return paramiko.SSHConfig.from_path(path)


def route(host: Host) -> Route:
    """Where to connect: the inventory's settings, then the ssh config's for what the inventory does not set."""
    ssh, conf = host.ssh, ssh_config(host.address)
    address = conf.get("hostname", host.address) if host.address == host.name else host.address
    user = ssh.user if "user" in ssh.given else conf.get("user", ssh.user)
    port = ssh.port if "port" in ssh.given else _port(conf.get("port", ssh.port), host.address)
    found = (Path(f).expanduser() for f in conf.get("identityfile", []))
    identities = (ssh.identity,) if ssh.identity else tuple(str(f) for f in found if f.is_file())
    target, agent = Hop(address, port, user), not ssh.identity
    gateway = ssh.gateway if "gateway" in ssh.given else conf.get("proxyjump") or conf.get("proxycommand")
    if not gateway or gateway.strip().lower() == "none":
        return Route((target,), identities, agent=agent)
    if any(c.isspace() for c in gateway.strip()):
        return Route((target,), identities, gateway.strip(), agent)
    return Route((*(_jump(j, user) for j in gateway.split(",")), target), identities, agent=agent)


def _jump(spec: str, user: str) -> Hop:
    """A ProxyJump hop, `[user@]host[:port]`; what it leaves out comes from the ssh config, then the target."""
    hop = jump(spec)
    conf = ssh_config(hop.host)
    return Hop(conf.get("hostname", hop.host), hop.port or _port(conf.get("port", 22), spec),
               hop.user or conf.get("user", user))


def _port(value: object, where: str) -> int:
    return port(value, f"port for {where}")
