"""What the SSH session does on channels besides its shell: end a step's processes, stage files over SFTP.

Large files go to the host over SFTP on the session's connection, streamed in chunks, into a
private directory (0700); the step script copies each into its temp file beside the target, so
neither side holds it in memory.
"""

from __future__ import annotations

import contextlib
import secrets
from typing import Protocol, cast

import paramiko

from configurator.connections.shell import STAGE_ROOT
from configurator.connections.stepend import STOP_WAIT, end_script
from configurator.engine.actions import quote
from configurator.errors import HostFailed


def end_over(client: paramiko.SSHClient, token: str, become: bool, password: str | None, timeout: float) -> None:
    """End script `token`'s processes through a second channel (the shell itself waits for them)."""
    command = f"sh -c {quote(end_script(token))}"
    if become:
        command = f"sudo -H -S -p '' {command}" if password else f"sudo -H -n {command}"
    transport = client.get_transport()
    if transport is None:
        return
    with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
        channel = transport.open_session(timeout=timeout)
        channel.exec_command(command)
        if password:
            channel.sendall((password + "\n").encode())
        channel.status_event.wait(STOP_WAIT)
        channel.close()


def exec_at_once(channel: paramiko.Channel, command: str) -> None:
    """Ask the server to run `command` and return without waiting for its answer (what
    `Channel.exec_command` waits for), so that the first script follows in the same round trip: sshd
    starts the command before it reads the data behind the request. A refused request closes the
    channel, which the first read reports."""
    request = paramiko.Message()
    request.add_byte(paramiko.common.cMSG_CHANNEL_REQUEST)
    request.add_int(channel.remote_chanid)
    request.add_string("exec")
    request.add_boolean(True)  # the answer still comes, and paramiko still handles it when it does
    request.add_string(command)
    # paramiko's own two steps of exec_command, without its wait (private: no public call sends alone)
    cast(_Waiting, channel)._event_pending()  # the answer sets (or fails) the channel's event
    cast(_Sending, channel.transport)._send_user_message(request)


class _Waiting(Protocol):
    def _event_pending(self) -> None: ...


class _Sending(Protocol):
    def _send_user_message(self, data: paramiko.Message) -> None: ...


def finish(channel: paramiko.Channel) -> None:
    """End a remote shell and wait (a bounded time) until it has: its exit releases the host lock."""
    with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
        channel.shutdown_write()
        channel.status_event.wait(STOP_WAIT)


class SftpStage:
    """A private staging folder on the host, filled over SFTP."""

    def __init__(self, client: paramiko.SSHClient) -> None:
        self.client = client
        self.sftp: paramiko.SFTPClient | None = None
        self.folder = f"{STAGE_ROOT}/.configurator-{secrets.token_hex(6)}"

    def put(self, local: str) -> str:
        """Stream `local` to the host; the remote path it landed at."""
        remote = f"{self.folder}/{secrets.token_hex(6)}"
        try:
            if self.sftp is None:
                self.sftp = self.client.open_sftp()
                self.sftp.mkdir(self.folder, 0o700)
            with open(local, "rb") as data:
                self.sftp.putfo(data, remote, confirm=True)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise HostFailed(f"streaming {local} to the host failed: {exc or type(exc).__name__}") from None
        return remote

    def close(self) -> None:
        """Remove the (by then empty) staging folder; a connection already gone is not an error."""
        if self.sftp is None:
            return
        with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
            for name in self.sftp.listdir(self.folder):
                self.sftp.remove(f"{self.folder}/{name}")
            self.sftp.rmdir(self.folder)
            self.sftp.close()
