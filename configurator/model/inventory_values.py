"""Checks of inventory values that reach a connection: addresses, ports, users, timeouts, gateways, counts.

Each refuses, before any connection, a value that would fail late, do nothing, or reach a command on
the control machine (an address is expanded into a gateway's ProxyCommand).
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from typing import Any

from configurator.errors import InputError, Location

LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")  # RFC 1123: letters, digits, '-' inside
HOST_HINT = "a host name (letters, digits and '-' between dots) or an IP address"
USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]*\$?\Z")  # POSIX names, user@domain, a trailing $ (Samba)
SECONDS = {"connect_timeout", "command_timeout", "lock_wait"}
CONNECTIONS = ("ssh", "local")
FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}\Z")  # a host key as `ssh-keygen -lf` names it


def is_host(text: str) -> bool:
    """An RFC 1123 host name or an IPv4/IPv6 literal."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        name = text.removesuffix(".")
        return 0 < len(name) <= 253 and all(LABEL.match(label) for label in name.split("."))
    return True


def check_address(value: str, what: str, at: Location | None = None) -> str:
    """`value` when it is a host name or an IP address."""
    if not is_host(value):
        raise InputError(f"{what} {value!r} is not a host name or an IP address", at, HOST_HINT)
    return value


def connection(value: object, what: str, at: Location | None = None) -> str:
    """How a host is reached: `ssh` (the default) or `local` (the machine running configure)."""
    if value not in CONNECTIONS:
        raise InputError(f"{what} must be {' or '.join(CONNECTIONS)}, got {value!r}", at)
    return str(value)


def port(value: object, what: str, at: Location | None = None) -> int:
    """A TCP port number, 1 to 65535."""
    try:
        number = int(str(value))
    except ValueError:
        number = 0
    if not 0 < number < 65536:
        raise InputError(f"{what} must be 1 to 65535, got {value!r}", at)
    return number


def count(value: Any, what: str, at: Location, minimum: int) -> int:
    """A whole number of at least `minimum` (a group's serial or max_fail)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InputError(f"{what} must be a whole number, got {type(value).__name__} {value!r}", at)
    if value < minimum:
        raise InputError(f"{what} must be {minimum} or more, got {value}", at)
    return value


def ssh_value(key: str, value: Any, what: str, at: Location) -> Any:
    """An ssh setting of the inventory (already of the right type), refused when out of range."""
    if key == "port":
        return port(value, what, at)
    if key in SECONDS and not (math.isfinite(value) and (value > 0 or (key == "lock_wait" and value == 0))):
        bound = "0 or more" if key == "lock_wait" else "above 0"
        raise InputError(f"{what} must be a number of seconds {bound}, got {value!r}", at)
    if key == "user" and not USER.match(value):  # it is expanded into a ProxyCommand's %r, like the address
        raise InputError(f"{what} {value!r} is not a valid user name", at,
                         "letters, digits, '_', '.', '@', '-'; not starting with '-'")
    if key == "gateway":
        check_gateway(value, what, at)
    if key == "host_key" and not FINGERPRINT.match(value):
        raise InputError(f"{what} {value!r} is not a host key fingerprint", at,
                         "as `ssh-keygen -lf` prints it: SHA256: then 43 base64 characters")
    return value


@dataclass(frozen=True)
class Jump:
    """One ProxyJump hop as written: `[user@]host[:port]` (what it leaves out is empty or None)."""

    user: str
    host: str
    port: int | None


def jump(spec: str, at: Location | None = None) -> Jump:
    """Split one ProxyJump hop; an option-like user or host is refused."""
    text = spec.strip().removeprefix("ssh://")
    login, _, place = text.rpartition("@")
    name, number = place, ""
    if place.startswith("["):  # [IPv6]:port
        name, _, rest = place[1:].partition("]")
        number = rest.removeprefix(":")
    elif place.count(":") == 1:
        name, _, number = place.partition(":")
    if not name or "@" in login or any(c in name for c in "@/") or name.startswith("-") or login.startswith("-"):
        raise InputError(f"gateway {spec!r} is not user@host[:port] nor a ProxyCommand (a command with a space)",
                         at)
    return Jump(login, name, port(number, f"gateway {spec!r} port", at) if number else None)


def check_gateway(value: str, what: str, at: Location) -> None:
    """A gateway is `none`, a ProxyCommand (a command with a space) or ProxyJump hosts, never an option."""
    text = value.strip()
    if text.startswith("-"):
        raise InputError(f"{what} {value!r} must not start with '-'", at,
                         "a ProxyCommand such as 'ssh -W %h:%p bastion', or [user@]host[:port]")
    if text.lower() == "none" or any(c.isspace() for c in text):
        return
    for spec in text.split(","):
        check_address(jump(spec, at).host, f"{what} host", at)
