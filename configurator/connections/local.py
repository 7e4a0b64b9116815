"""The machine itself as a host (`connection: local`): one `sh` subprocess, each script one round trip.

The same framing as over SSH (shell.py): the same wrapper, state check, host lock and end markers,
read from the subprocess's pipes with the same bounded reader. The shell runs in its own session,
so a Ctrl-C at the terminal reaches the tool only (one lets the running step finish, as over SSH);
with `become` and not root, the shell is `sudo -n sh` (or sudo with the given password).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import select
import shutil
import subprocess
import tempfile
import threading
import time
import typing
from pathlib import Path

from configurator.connections.shell import PATH, STAGE_ROOT, SUDO_PROMPT, SUDO_READY, Shell
from configurator.connections.stepend import STOP_WAIT, end_script
from configurator.connections.streams import Keep, Stream
from configurator.engine import hostpaths
from configurator.errors import HostFailed
from configurator.model.inventory import Host

SUDO_KEEP = Keep(whole=64 * 1024, head=1024, tail=8 * 1024)  # what sudo prints before the shell starts


def connect(host: Host, sudo_password: str | None = None, abort: threading.Event | None = None,
            state_dir: Path | None = None) -> LocalSession:
    """Start the shell for `host` on this machine; once `abort` is set, the running script's processes
    are ended and no other script starts."""
    session = LocalSession(host, sudo_password, state_dir)
    session.abort = abort
    return session


def default_state_dir(as_root: bool) -> Path:
    """Where the lock and pending handlers live: root's /var/lib/configurator, else the user's state folder."""
    if as_root:
        return Path(hostpaths.STATE_DIR)
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    base.mkdir(parents=True, exist_ok=True)
    return base / "configurator"


class LocalSession(Shell):
    """A shell on this machine; `run()` is one round trip."""

    def __init__(self, host: Host, sudo_password: str | None = None, state_dir: Path | None = None,
                 path: str = PATH) -> None:
        self.host = host
        self.round_trips = 0
        self.started = False
        self.user = pwd.getpwuid(os.geteuid()).pw_name
        self.become = host.ssh.become and os.geteuid() != 0
        self.sudo_password = sudo_password if self.become else None
        as_root = self.become or os.geteuid() == 0
        self.state_owner = 0 if as_root else os.geteuid()
        self.state_dir = str(state_dir or default_state_dir(as_root))
        self.search_path = path
        self.stage: Path | None = None
        self.proc = self._start(self._argv())
        if self.sudo_password:
            self._sudo(self.sudo_password)

    @staticmethod
    def _start(argv: list[str]) -> subprocess.Popen[bytes]:
        """The shell, in a session of its own: a Ctrl-C at the terminal reaches the tool alone."""
        try:
            return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            raise HostFailed(f"cannot start {argv[0]} on this machine: {exc.strerror or exc}") from None

    def _argv(self) -> list[str]:
        if not self.become:
            return ["sh"]
        if self.sudo_password:
            return ["sudo", "-H", "-S", "-p", SUDO_PROMPT, "sh", "-c", f"echo {SUDO_READY}; exec sh"]
        return ["sudo", "-H", "-n", "sh"]

    def _sudo(self, password: str) -> None:
        """Answer sudo's prompt once (if it asks); a second prompt means the password was wrong."""
        out, err = Stream(SUDO_READY.encode(), SUDO_KEEP), Stream(SUDO_PROMPT.encode(), SUDO_KEEP)
        deadline, sent = time.monotonic() + self.host.ssh.connect_timeout, False
        while not out.done:
            if time.monotonic() > deadline or not self._receive(out, err, 0.2):
                self.close()
                raise HostFailed("sudo did not start a shell (is the user allowed to run sh with sudo?)")
            if err.kept().count(SUDO_PROMPT.encode()) > 1:
                self.close()
                raise HostFailed("sudo refused the password (from --ask-become-pass or --become-password-file)")
            if err.done and not sent:
                self._send((password + "\n").encode())
                sent = True

    @property
    def nodelay(self) -> bool:
        """No socket: nothing to set."""
        return False

    def _pipes(self) -> tuple[typing.IO[bytes], typing.IO[bytes], typing.IO[bytes]]:
        assert self.proc.stdin and self.proc.stdout and self.proc.stderr
        return self.proc.stdin, self.proc.stdout, self.proc.stderr

    def _send(self, data: bytes) -> None:
        stdin = self._pipes()[0]
        stdin.write(data)
        stdin.flush()

    def _receive(self, out: Stream, err: Stream, wait: float) -> bool:
        """Feed what arrived, or wait up to `wait` seconds for it; False when the shell is gone."""
        _, stdout, stderr = self._pipes()
        ready, _, _ = select.select([stdout, stderr], [], [], wait)
        for pipe in ready:
            data = os.read(pipe.fileno(), 65536)
            if not data:
                if pipe is stdout:
                    err.feed(self._stderr_left())
                return False
            (out if pipe is stdout else err).feed(data)
        return True

    def _stderr_left(self) -> bytes:
        """What the shell still wrote on stderr before it ended (a bounded wait)."""
        stderr, left, deadline = self._pipes()[2], b"", time.monotonic() + 1.0
        while time.monotonic() < deadline and select.select([stderr], [], [], 0.1)[0]:
            data = os.read(stderr.fileno(), 65536)
            if not data:
                break
            left += data
        return left

    def _gone(self) -> bool:
        return self.proc.poll() is not None

    def _end_step(self, token: str) -> None:
        argv = ["sh", "-c", end_script(token)]
        if self.become:
            argv = ["sudo", "-H", "-S", "-p", "", *argv] if self.sudo_password else ["sudo", "-H", "-n", *argv]
        password = (self.sudo_password + "\n").encode() if self.sudo_password else b""
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run(argv, input=password, capture_output=True, timeout=STOP_WAIT, check=False)

    def _finish(self) -> None:
        with contextlib.suppress(OSError):
            self._pipes()[0].close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(STOP_WAIT)

    def put(self, local: str) -> str:
        """Copy `local` into a private (0700) staging folder; one round trip, as over SSH."""
        try:
            if self.stage is None:
                self.stage = Path(tempfile.mkdtemp(prefix=".configurator-", dir=STAGE_ROOT))
            staged = Path(tempfile.mkstemp(dir=self.stage)[1])
            shutil.copyfile(local, staged)
        except OSError as exc:
            raise HostFailed(f"staging {local} failed: {exc.strerror or exc}") from None
        self.round_trips += 1
        return str(staged)

    def unstage(self) -> None:
        if self.stage is not None:
            shutil.rmtree(self.stage, ignore_errors=True)
            self.stage = None

    def reopen(self) -> None:
        """A machine cannot wait for itself to reboot."""
        raise HostFailed("connection: local cannot reboot the machine configure runs on and carry on")

    def close(self) -> None:
        """End the shell (its exit releases the host lock) and remove the staging folder."""
        self.unstage()
        with contextlib.suppress(OSError):
            self._pipes()[0].close()
        try:
            self.proc.wait(1.0)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):  # a sudo shell is root's: it ends when its stdin closes
                self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(1.0)
        for pipe in self._pipes()[1:]:
            pipe.close()

