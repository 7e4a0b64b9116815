"""SSH to one host: one connection, one remote shell, each script one round trip.

The module that opens paramiko connections. A `Session` (a `Connection`, framed as shell.py says)
keeps a single `sh` running on the target (through sudo when asked); every `run()` sends one
script on its stdin and reads until an end marker, so a converged host costs the connection plus
one round trip.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time

import paramiko

from configurator.connections.base import Result
from configurator.connections.hostkeys import HostKeys
from configurator.connections.route import Hop, Route, route
from configurator.connections.shell import LOCKED, SUDO_PROMPT, SUDO_READY, Shell
from configurator.connections.ssh_channel import SftpStage, end_over, exec_at_once, finish
from configurator.connections.streams import KEEP, Keep, Stream
from configurator.connections.waiting import Transient, cloud_init_wait, retry
from configurator.engine import hostpaths
from configurator.errors import HostFailed, Unreachable
from configurator.model.inventory import Host

LOCK_DIR = hostpaths.STATE_DIR
REFUSED_TRIES = 4
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
POLL = 0.2  # seconds between looks at the abort flag while a script runs


def _socket(address: str, port: int, timeout: float) -> socket.socket:
    for _ in range(REFUSED_TRIES):
        try:
            return _connect(address, port, timeout)
        except ConnectionRefusedError:
            time.sleep(0.25)  # sshd closes its listener for a moment while it re-executes on reload
    raise Transient(f"connect to {address}:{port} failed: Connection refused")


def _connect(address: str, port: int, timeout: float) -> socket.socket:
    try:
        sock = socket.create_connection((address, port), timeout=timeout)
    except ConnectionRefusedError:
        raise
    except TimeoutError:
        raise Transient(f"connect to {address}:{port} timed out after {timeout:g}s") from None
    except OSError as exc:  # no route, network unreachable, reset: all may pass while a host boots
        raise Transient(f"connect to {address}:{port} failed: {exc.strerror or exc}") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def connect(host: Host, accept_new: bool = False, sudo_password: str | None = None,
            abort: threading.Event | None = None, wait: float = 0.0, password: str | None = None) -> Session:
    """Open the SSH connection (through its bastions, if any) and the remote shell for `host`;
    once `abort` is set, the running script's processes are ended and no other script starts.

    `wait` > 0: retry while the host refuses, times out or has no route, up to `wait` seconds, then let the
    first script wait for cloud-init in what is left. `password`: log in with it (and no key)."""
    if wait <= 0:
        return _connect_once(host, accept_new, sudo_password, abort, host.ssh.connect_timeout, password)
    session, left = retry(lambda budget: _connect_once(host, accept_new, sudo_password, abort,
                                                       min(host.ssh.connect_timeout, budget), password), wait)
    session.ready_wait = max(1.0, left)
    return session


def _connect_once(host: Host, accept_new: bool, sudo_password: str | None, abort: threading.Event | None,
                  timeout: float, password: str | None) -> Session:
    way = route(host)
    keys = HostKeys(host.ssh.known_hosts, accept_new or host.ssh.accept_new, host.ssh.host_key)
    first = way.hops[0]
    sock: object = None if way.proxy_command else _socket(first.address, first.port, timeout)
    jumps: list[paramiko.SSHClient] = []
    try:
        for hop, after in zip(way.hops, way.hops[1:], strict=False):
            jumps.append(_open(hop, way, keys, sock, timeout, f"bastion {hop}: "))
            sock = _tunnel(jumps[-1], hop, after, timeout)
        client = _open(way.target, way, keys, sock, timeout, "", password)
    except BaseException:
        for jump in reversed(jumps):
            jump.close()
        with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
            getattr(sock, "close", lambda: None)()
        raise
    session = Session(client, host, way.target.user, sudo_password, tuple(jumps))
    session.abort, session.accept_new, session.password = abort, accept_new, password
    return session


def _open(hop: Hop, way: Route, keys: HostKeys, sock: object, timeout: float, label: str,
          password: str | None = None) -> paramiko.SSHClient:
    """One SSH connection (a target or a bastion) with strict host keys; every failure is Unreachable."""
    kwargs: dict[str, object] = {"username": hop.user, "port": hop.port, "look_for_keys": not way.identities,
                                 "allow_agent": way.agent, "timeout": timeout, "banner_timeout": timeout,
                                 "auth_timeout": timeout, "sock": sock}
    if password is not None:  # a password login offers no key: first contact proves the password works
        kwargs.update(password=password, look_for_keys=False, allow_agent=False)
    elif way.identities:
        kwargs["key_filename"] = list(way.identities)
    client = paramiko.SSHClient()
    keys.apply(client, hop)
    try:
        if sock is None and way.proxy_command:
            kwargs["sock"] = paramiko.ProxyCommand(proxy_command(way.proxy_command, hop))
        _handshake(client, hop, keys.known, kwargs)
    except Unreachable as exc:
        client.close()
        raise type(exc)(f"{label}{exc}") from None  # the same kind: --wait retries what may pass
    transport = client.get_transport()
    assert transport is not None
    transport.set_keepalive(15)
    return client


def proxy_command(command: str, hop: Hop) -> str:
    """The ProxyCommand with its %h, %p and %r tokens expanded for `hop`, as ssh does."""
    config = paramiko.SSHConfig.from_text(f"Host target\n  HostName {hop.address}\n  Port {hop.port}\n"
                                          f"  User {hop.user}\n  ProxyCommand {command}\n")
    expanded: str = config.lookup("target")["proxycommand"]
    return expanded


def _handshake(client: paramiko.SSHClient, hop: Hop, known: str, kwargs: dict[str, object]) -> None:
    try:
        client.connect(hop.address, **kwargs)  # type: ignore[arg-type]
    except Unreachable:
        raise
    except paramiko.BadHostKeyException as exc:
        raise Unreachable(f"host key for {hop.address} CHANGED (got {exc.key.fingerprint}); refusing to "
                          f"connect. If the host was rebuilt, remove its old line from {known}") from None
    except paramiko.AuthenticationException as exc:
        raise Unreachable(f"authentication as {hop.user} failed: {exc}") from None
    except (paramiko.SSHException, OSError, EOFError) as exc:  # e.g. no banner yet from an sshd starting up
        raise Transient(f"SSH to {hop.address}:{hop.port} failed: {exc}") from None


def _tunnel(bastion: paramiko.SSHClient, hop: Hop, to: Hop, timeout: float) -> paramiko.Channel:
    """A direct-tcpip channel from the bastion to the next hop's SSH port."""
    transport = bastion.get_transport()
    assert transport is not None
    for _ in range(REFUSED_TRIES):
        try:
            channel: paramiko.Channel = transport.open_channel("direct-tcpip", (to.address, to.port), ("", 0),
                                                               timeout=timeout)
            return channel
        except paramiko.ChannelException as exc:
            if exc.code != paramiko.common.OPEN_FAILED_CONNECT_FAILED:  # e.g. forwarding is disabled there
                raise Unreachable(f"bastion {hop} refused a tunnel to {to.address}:{to.port}: {exc.text}") from None
            time.sleep(0.25)  # refused, perhaps sshd re-executing on reload: as for a direct connection
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise Unreachable(f"bastion {hop} could not reach {to.address}:{to.port}: {exc}") from None
    raise Transient(f"bastion {hop} could not connect to {to.address}:{to.port}: Connect failed")


class Session(Shell):
    """The remote shell of one host; `run()` is one round trip."""

    transport_errors = (OSError, EOFError, paramiko.SSHException)
    accept_new = False  # as connect() was asked: reopen() asks the same
    password: str | None = None  # the login password, when not a key (first contact)
    ready_wait = 0.0  # seconds the first script may wait for cloud-init (--wait)

    def __init__(self, client: paramiko.SSHClient, host: Host, user: str, sudo_password: str | None,
                 jumps: tuple[paramiko.SSHClient, ...] = ()) -> None:
        self.client = client
        self.jumps = jumps  # the bastions' connections, first hop first
        self.host = host
        self.round_trips = 0
        self.started = False
        self.user = user  # the user logged in as: the inventory's, else the ssh config's
        self.become = host.ssh.become and self.user != "root"
        self.sudo_password = sudo_password if self.become else None
        self.stage: SftpStage | None = None
        self.channel = self._shell(self.become and bool(sudo_password))
        if self.sudo_password:
            self._sudo(self.sudo_password)

    def _shell(self, prompted: bool) -> paramiko.Channel:
        transport = self.client.get_transport()
        assert transport is not None
        channel = transport.open_session(timeout=self.host.ssh.connect_timeout)
        if prompted:
            channel.exec_command(f"sudo -H -S -p {SUDO_PROMPT} sh -c 'echo {SUDO_READY}; exec sh'")
        else:  # no prompt to answer: the first script need not wait for the shell to be confirmed
            exec_at_once(channel, "sudo -H -n sh" if self.become else "sh")
        return channel

    def _sudo(self, password: str) -> None:
        """Answer sudo's prompt once; a second prompt means the password was wrong."""
        out, err, sent = b"", b"", False
        deadline = time.monotonic() + self.host.ssh.connect_timeout
        while SUDO_READY.encode() not in out:
            if time.monotonic() > deadline or self.channel.exit_status_ready():
                raise HostFailed("sudo did not start a shell (is the user allowed to run sh with sudo?)")
            if self.channel.recv_ready():
                out += self.channel.recv(4096)
            elif self.channel.recv_stderr_ready():
                err += self.channel.recv_stderr(4096)
                if err.count(SUDO_PROMPT.encode()) > 1:
                    self.close()
                    raise HostFailed("sudo refused the password (from --ask-become-pass or --become-password-file)")
                if SUDO_PROMPT.encode() in err and not sent:
                    self.channel.sendall((password + "\n").encode())
                    sent = True
            else:
                select.select([self.channel], [], [], 0.2)

    @property
    def host_key(self) -> str:
        """The host's key as its type and SHA256 fingerprint (what `ssh-keygen -lf` shows)."""
        transport = self.client.get_transport()
        key = transport.get_remote_server_key() if transport is not None else None
        return f"{key.get_name()} {key.fingerprint}" if key is not None else ""

    @property
    def nodelay(self) -> bool:
        """Whether TCP_NODELAY is set on the connection's socket (the first bastion's, through bastions)."""
        transport = (self.jumps[0] if self.jumps else self.client).get_transport()
        sock = getattr(transport, "sock", None)
        if not isinstance(sock, socket.socket):
            return False
        return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    def run(self, script: str, timeout: float | None = None, lock: str = "", keep: Keep = KEEP) -> Result:
        """As Shell.run; the first script also waits for cloud-init when asked (no round trip of its own)."""
        if self.ready_wait and not self.started:
            timeout = (timeout or self.host.ssh.command_timeout) + self.ready_wait
        return super().run(script, timeout, lock, keep)

    def _wrap(self, script: str, token: str, lock: str) -> str:
        first = not self.started
        wrapped = super()._wrap(script, token, lock)
        return cloud_init_wait(self.ready_wait) + wrapped if first and self.ready_wait else wrapped

    def _end_step(self, token: str) -> None:
        end_over(self.client, token, self.become, self.sudo_password, self.host.ssh.connect_timeout)

    def put(self, local: str) -> str:
        """Stream `local` over SFTP into the staging folder; one round trip (and as many packets as it takes)."""
        if self.stage is None:
            self.stage = SftpStage(self.client)
        remote = self.stage.put(local)
        self.round_trips += 1
        return remote

    def unstage(self) -> None:
        if self.stage is not None:
            self.stage.close()
            self.stage = None

    def _send(self, data: bytes) -> None:
        self.channel.sendall(data)

    def _receive(self, out: Stream, err: Stream, wait: float) -> bool:
        """Feed what arrived, or wait a little for it; False when the remote shell is gone."""
        if self.channel.recv_ready():
            out.feed(self.channel.recv(65536))
        elif self.channel.recv_stderr_ready():
            err.feed(self.channel.recv_stderr(65536))
        elif self.channel.closed or self.channel.exit_status_ready():
            return False
        else:
            select.select([self.channel], [], [], wait)
        return True

    def _finish(self) -> None:
        finish(self.channel)

    def _gone(self) -> bool:
        return self.channel.exit_status_ready()

    def _stderr_left(self) -> bytes:
        err = b""
        while self.channel.recv_stderr_ready():
            err += self.channel.recv_stderr(65536)
        return err

    def reopen(self) -> None:
        """Close this connection and open a new one to the same host, with the same keys and rights."""
        self.close()
        fresh = connect(self.host, self.accept_new, self.sudo_password, self.abort, password=self.password)
        self.client, self.jumps, self.channel, self.stage = fresh.client, fresh.jumps, fresh.channel, None
        self.started = False

    def close(self) -> None:
        """Close the shell and the connection; a connection already gone is not an error."""
        for closing in (self.channel.close, self.client.close, *(j.close for j in reversed(self.jumps))):
            with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
                closing()


__all__ = ["LOCKED", "LOCK_DIR", "Session", "connect", "proxy_command"]
