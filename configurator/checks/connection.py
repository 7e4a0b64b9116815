"""A testinfra `host` over the engine's own SSH connection, so verify trusts exactly the same host keys.

testinfra's paramiko backend accepts unknown host keys with a warning and never reads the
inventory's known_hosts; instead the run opens the connection (strict checking, `accept_new`
only when asked, a changed key refused) and we hand its client to a backend that never
reconnects on its own.
"""

from __future__ import annotations

from typing import Any

import testinfra.host
from testinfra.backend.local import LocalBackend
from testinfra.backend.paramiko import ParamikoBackend

from configurator.connections import ssh as transport
from configurator.connections.base import Connection as HostConnection
from configurator.model.inventory import Host

CHECK_TIMEOUT = 300.0  # seconds for one command of a check; a hung command must not hang the run


class _Backend(ParamikoBackend):  # type: ignore[misc]
    """testinfra's paramiko backend on an already open, host-key-checked client."""

    def __init__(self, client: Any, host: Host, sudo_password: str | None, user: str) -> None:
        become = host.ssh.become and user != "root"  # the user logged in as, as the engine decides
        super().__init__(f"{user}@{host.address}:{host.ssh.port}", sudo=become)
        self._client = client
        self._password = sudo_password
        self._timeout = min(host.ssh.command_timeout, CHECK_TIMEOUT)

    @property
    def client(self) -> Any:
        return self._client

    def get_sudo_command(self, command: str, sudo_user: str | None) -> str:
        # never prompt on a terminal: read the password from stdin, or fail at once without one
        flags = "-S -p ''" if self._password else "-n"
        user = self.quote(" -u %s", sudo_user) if sudo_user else ""
        return str(self.quote(f"sudo {flags}{user} /bin/sh -c %s", command))

    def _exec_command(self, command: bytes) -> tuple[int, bytes, bytes]:
        channel = self._client.get_transport().open_session(timeout=self._timeout)
        channel.settimeout(self._timeout)
        channel.exec_command(command)
        if self._password and self.sudo:
            channel.sendall((self._password + "\n").encode())
        channel.shutdown_write()
        stdout = b"".join(channel.makefile("rb"))
        stderr = b"".join(channel.makefile_stderr("rb"))
        return int(channel.recv_exit_status()), stdout, stderr

    def run(self, command: str, *args: str, **kwargs: Any) -> Any:
        cmd = self.encode(self.get_command(command, *args))
        rc, stdout, stderr = self._exec_command(cmd)
        return self.result(rc, cmd, stdout, stderr)


class _Local(LocalBackend):  # type: ignore[misc]
    """testinfra's local backend; with become (and not root), sudo never prompts."""

    def get_sudo_command(self, command: str, sudo_user: str | None) -> str:
        user = self.quote(" -u %s", sudo_user) if sudo_user else ""
        return str(self.quote(f"sudo -n{user} /bin/sh -c %s", command))


def _backend(session: HostConnection, host: Host, sudo_password: str | None) -> Any:
    """The testinfra backend over the session's own connection (SSH), or on this machine (local)."""
    if isinstance(session, transport.Session):
        return _Backend(session.client, host, sudo_password, session.user)
    return _Local(sudo=host.ssh.become and session.user != "root")


class Connection:
    """A testinfra `host` over a host's open connection (lent by the run, which holds the host's lock)."""

    def __init__(self, host: Host, session: HostConnection, sudo_password: str | None = None) -> None:
        self.session = session
        backend = _backend(session, host, sudo_password)
        self.host = testinfra.host.Host(backend)
        backend.set_host(self.host)
