"""SSH to one host: one connection, one remote shell, each script one round trip.

The only module that knows paramiko/fabric. A `Session` keeps a single `sh` running on the
target (through sudo when asked); every `run()` sends one script on its stdin and reads until
an end marker, so a converged host costs the connection plus one round trip.
"""

from __future__ import annotations

import contextlib
import secrets
import select
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import paramiko
from fabric import Connection

from configurator.errors import HostFailed, Unreachable
from configurator.inventory import Host

LOCK_DIR = "/var/lib/configurator"
LOCKED = 75  # exit status of the first script when another run holds the host's lock
SUDO_PROMPT = "CFG_SUDO_PROMPT:"
SUDO_READY = "CFG_SUDO_READY"
REFUSED_TRIES = 4
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Result:
    """What one script printed and its exit status."""

    stdout: str
    stderr: str
    status: int


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


def _socket(address: str, port: int, timeout: float) -> socket.socket:
    for _ in range(REFUSED_TRIES):
        try:
            return _connect(address, port, timeout)
        except ConnectionRefusedError:
            time.sleep(0.25)  # sshd closes its listener for a moment while it re-executes on reload
    raise Unreachable(f"connect to {address}:{port} failed: Connection refused")


def _connect(address: str, port: int, timeout: float) -> socket.socket:
    try:
        sock = socket.create_connection((address, port), timeout=timeout)
    except ConnectionRefusedError:
        raise
    except TimeoutError:
        raise Unreachable(f"connect to {address}:{port} timed out after {timeout:g}s") from None
    except OSError as exc:
        raise Unreachable(f"connect to {address}:{port} failed: {exc.strerror or exc}") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def connect(host: Host, accept_new: bool = False, sudo_password: str | None = None) -> Session:
    """Open the SSH connection and the remote shell for `host`."""
    ssh = host.ssh
    kwargs: dict[str, object] = {"look_for_keys": ssh.identity is None, "allow_agent": ssh.identity is None,
                                 "banner_timeout": ssh.connect_timeout, "auth_timeout": ssh.connect_timeout}
    if ssh.identity:
        kwargs["key_filename"] = ssh.identity
    if not ssh.gateway:
        kwargs["sock"] = _socket(host.address, ssh.port, ssh.connect_timeout)
    conn = Connection(host.address, user=ssh.user, port=ssh.port, connect_kwargs=kwargs,
                      gateway=ssh.gateway, connect_timeout=None if not ssh.gateway else int(ssh.connect_timeout))
    client = conn.client
    known = ssh.known_hosts or str(Path("~/.ssh/known_hosts").expanduser())
    if Path(known).is_file():
        client.load_host_keys(known)
    client.set_missing_host_key_policy(AcceptNew(known) if (accept_new or ssh.accept_new) else Refuse())
    try:
        conn.open()
    except Unreachable:
        raise
    except paramiko.BadHostKeyException as exc:
        raise Unreachable(f"host key for {host.address} CHANGED (got {exc.key.fingerprint}); refusing to "
                          f"connect. If the host was rebuilt, remove its old line from {known}") from None
    except paramiko.AuthenticationException as exc:
        raise Unreachable(f"authentication as {ssh.user} failed: {exc}") from None
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise Unreachable(f"SSH to {host.address}:{ssh.port} failed: {exc}") from None
    transport = conn.client.get_transport()
    assert transport is not None
    transport.set_keepalive(15)
    return Session(conn, host, sudo_password)


class Session:
    """The remote shell of one host; `run()` is one round trip."""

    def __init__(self, conn: Connection, host: Host, sudo_password: str | None) -> None:
        self.conn = conn
        self.host = host
        self.round_trips = 0
        self.started = False
        become = host.ssh.become and host.ssh.user != "root"
        transport = conn.client.get_transport()
        assert transport is not None
        self.channel = transport.open_session(timeout=host.ssh.connect_timeout)
        if become and sudo_password:
            self.channel.exec_command(f"sudo -H -S -p {SUDO_PROMPT} sh -c 'echo {SUDO_READY}; exec sh'")
            self._sudo(sudo_password)
        else:
            self.channel.exec_command("sudo -H -n sh" if become else "sh")

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
                    raise HostFailed("sudo refused the password; check --ask-become-pass input")
                if SUDO_PROMPT.encode() in err and not sent:
                    self.channel.sendall((password + "\n").encode())
                    sent = True
            else:
                select.select([self.channel], [], [], 0.2)

    @property
    def nodelay(self) -> bool:
        """Whether TCP_NODELAY is set on the connection's socket."""
        transport = self.conn.client.get_transport()
        sock = getattr(transport, "sock", None)
        if not isinstance(sock, socket.socket):
            return False
        return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    def run(self, script: str, timeout: float | None = None, lock: str = "") -> Result:
        """Run `script` in a subshell of the remote shell; `lock` ('x' or 's') takes the host lock first."""
        token = secrets.token_hex(8)
        self.round_trips += 1
        try:
            self.channel.sendall(self._wrap(script, token, lock).encode("utf-8", "surrogateescape"))
            return self._read(token, timeout or self.host.ssh.command_timeout)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise HostFailed(f"connection lost during a command: {exc or type(exc).__name__}") from None

    def _wrap(self, script: str, token: str, lock: str) -> str:
        head = ""
        if not self.started:
            self.started = True
            head = f"export LC_ALL=C PATH={PATH}; umask 022\n"
        # commands must not inherit the lock: a process left behind would hold it after the run
        body = '( eval "$__cfg" ) </dev/null 9>&-'
        if lock:
            mode = "-s" if lock == "s" else "-x"
            head += f"mkdir -p {LOCK_DIR} && exec 9>>{LOCK_DIR}/lock\n"
            body = f'if flock {mode} -w {int(self.host.ssh.lock_wait)} 9; then {body}; else (exit {LOCKED}); fi'
        return (f"{head}__cfg=$(cat <<'CFG_SCRIPT_{token}'\n{script}\nCFG_SCRIPT_{token}\n)\n"
                f"{body}; __rc=$?; printf '\\nCFG_END_{token} %s\\n' $__rc; printf '\\nCFG_END_{token}\\n' >&2\n")

    def _read(self, token: str, timeout: float) -> Result:
        out, err = bytearray(), bytearray()
        end_out = f"\nCFG_END_{token} ".encode()
        end_err = f"\nCFG_END_{token}\n".encode()
        deadline = time.monotonic() + timeout
        while not (end_out in out and out.endswith(b"\n") and end_err in err):
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                raise HostFailed(f"command timed out after {timeout:g}s; the session was closed")
            if self.channel.recv_ready():
                out += self.channel.recv(65536)
            elif self.channel.recv_stderr_ready():
                err += self.channel.recv_stderr(65536)
            elif self.channel.closed or self.channel.exit_status_ready():
                raise HostFailed(self._died(bytes(err)))
            else:
                select.select([self.channel], [], [], min(left, 1.0))
        body, _, tail = bytes(out).rpartition(end_out)
        status = int(tail.split(b"\n", 1)[0] or b"1")
        return Result(_text(body.removeprefix(b"\n")), _text(bytes(err).rpartition(end_err)[0]), status)

    def _died(self, err: bytes) -> str:
        detail = _text(err).strip().splitlines()[-1:] or ["connection closed"]
        return f"the remote shell ended unexpectedly: {detail[0]}"

    def close(self) -> None:
        """Close the shell and the connection; a connection already gone is not an error."""
        for closing in (self.channel.close, self.conn.close):
            with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
                closing()


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
