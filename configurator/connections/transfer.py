"""Large files go to the host over SFTP on the session's connection, streamed in chunks.

Small content travels inside the step script; a file bigger than the catalog's threshold is
staged in a private directory (0700) on the host first, and the step script copies it into
its temp file beside the target, so neither side holds it in memory.
"""

from __future__ import annotations

import contextlib
import secrets

import paramiko

from configurator.connections.ssh import Session
from configurator.engine.actions import Action, Upload
from configurator.errors import HostFailed

STAGE_ROOT = "/var/tmp"  # on disk: /tmp is often a small tmpfs


class Stager:
    """Puts local files on one host; each `put` is one round trip (and as many packets as it takes)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.sftp: paramiko.SFTPClient | None = None
        self.folder = f"{STAGE_ROOT}/.configurator-{secrets.token_hex(6)}"

    def put(self, local: str) -> str:
        """Stream `local` to the host; the remote path it landed at."""
        remote = f"{self.folder}/{secrets.token_hex(6)}"
        try:
            if self.sftp is None:
                self.sftp = self.session.client.open_sftp()
                self.sftp.mkdir(self.folder, 0o700)
            with open(local, "rb") as data:
                self.sftp.putfo(data, remote, confirm=True)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise HostFailed(f"streaming {local} to the host failed: {exc or type(exc).__name__}") from None
        self.session.round_trips += 1
        return remote

    def staged(self, actions: list[Action]) -> list[Action]:
        """The actions, with every streamed upload's file already on the host."""
        return [Upload(a.path, a.content, a.mode, a.owner, a.group, a.validate, a.source, self.put(a.source))
                if isinstance(a, Upload) and a.source else a for a in actions]

    def close(self) -> None:
        """Remove the (by then empty) staging folder; a connection already gone is not an error."""
        if self.sftp is None:
            return
        with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
            for name in self.sftp.listdir(self.folder):
                self.sftp.remove(f"{self.folder}/{name}")
            self.sftp.rmdir(self.folder)
            self.sftp.close()
