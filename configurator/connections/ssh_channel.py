"""What the SSH session does on channels besides its shell: end a step's processes, stage files over SFTP.

Large files go to the host over SFTP on the session's connection, streamed in chunks, into a
private directory (0700); the step script copies each into its temp file beside the target, so
neither side holds it in memory.
"""

from __future__ import annotations

import contextlib
import secrets

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
