"""One persistent `sh` per host, each script one round trip: the framing SSH and local share.

A script is sent on the shell's stdin as one quoted assignment and run in a subshell; the shell
then prints an end marker with the exit status on stdout and one on stderr, and both streams are
read (in bounded memory, streams.py) until their markers. The first script sets the environment
and, with a lock, checks the state directory and opens the lock on fd 9. A kind of shell supplies
only how bytes travel (send, receive) and how a step's processes are ended.
"""

from __future__ import annotations

import abc
import secrets
import shlex
import threading
import time
import typing

from configurator.connections.base import Result
from configurator.connections.stepend import STOP_WAIT, mark, on_timeout
from configurator.connections.streams import KEEP, Keep, Stream, last_lines
from configurator.engine import hostpaths
from configurator.engine.actions import quote
from configurator.errors import HostFailed
from configurator.model.inventory import Host

LOCKED = 75  # exit status of the first script when another run holds the host's lock
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
POLL = 0.2  # seconds between looks at the abort flag while a script runs
SUDO_PROMPT = "CFG_SUDO_PROMPT:"  # sudo's password prompt, when a password was given
SUDO_READY = "CFG_SUDO_READY"  # printed once sudo started the shell
STAGE_ROOT = "/var/tmp"  # large files are staged on disk: /tmp is often a small tmpfs


class Shell(abc.ABC):
    """The framing of one host's shell; subclasses move the bytes."""

    abort: threading.Event | None = None  # once set (by whoever shares it), the running script is ended
    host: Host
    user: str  # who the shell logs in as (before become)
    round_trips: int
    started: bool
    state_dir = hostpaths.STATE_DIR  # the lock and the pending handlers
    state_owner = 0  # uid that must own the state directory
    search_path = PATH
    transport_errors: tuple[type[BaseException], ...] = (OSError, EOFError)

    @property
    def aborted(self) -> bool:
        return self.abort is not None and self.abort.is_set()

    def run(self, script: str, timeout: float | None = None, lock: str = "", keep: Keep = KEEP) -> Result:
        """Run `script` in a subshell of the shell; `lock` ('x' or 's') takes the host lock first.

        Each output stream is kept whole up to `keep.whole` bytes (the default suits a probe, whose
        output is parsed), else cut to its first and last bytes."""
        if self.aborted:
            raise HostFailed("interrupted: nothing further was started on this host")
        token = secrets.token_hex(8)
        self.round_trips += 1
        try:
            self._send(self._wrap(script, token, lock).encode("utf-8", "surrogateescape"))
            return self._read(token, timeout or self.host.ssh.command_timeout, keep)
        except self.transport_errors as exc:
            if self._gone():  # e.g. `sudo -n` refused before the script was sent
                raise HostFailed(self._died(self._stderr_left())) from None
            raise HostFailed(f"connection lost during a command: {exc or type(exc).__name__}") from None

    def _wrap(self, script: str, token: str, lock: str) -> str:
        head = ""
        if not self.started:
            self.started = True
            head = (f"export LC_ALL=C PATH={quote(self.search_path)}; umask 022; "
                    f"{hostpaths.STATE_VAR}={quote(self.state_dir)}\n")
        # commands must not inherit the lock: a process left behind would hold it after the run; the
        # mark in their environment follows them even into a new session (setsid), unlike a process group
        body = f'( {mark(token)}; eval "$__cfg" ) </dev/null 9>&-'
        if lock:
            mode = "-s" if lock == "s" else "-x"
            head += hostpaths.state_check(quote(self.state_dir), self.state_owner)
            body = (f'if [ -z "$__cfg_safe" ]; then (exit {hostpaths.UNSAFE_STATE}); '
                    f'elif flock {mode} -w {int(self.host.ssh.lock_wait)} 9; then {body}; else (exit {LOCKED}); fi')
        # a quoted assignment, not `$(cat <<EOF)`: no fork and exec on the host for each round trip
        return (f"{head}__cfg={shlex.quote(script)}\n"
                f"{body}; __rc=$?; {on_timeout(token)}; "
                f"printf '\\nCFG_END_{token} %s\\n' $__rc; printf '\\nCFG_END_{token}\\n' >&2\n")

    def _read(self, token: str, timeout: float, keep: Keep) -> Result:
        out = Stream(f"\nCFG_END_{token} ".encode(), keep, status_line=True)
        err = Stream(f"\nCFG_END_{token}\n".encode(), keep)
        deadline = time.monotonic() + timeout
        stopping = False
        while not (out.done and err.done):
            if self.aborted and not stopping:
                stopping = True
                self._end_step(token)
                deadline = time.monotonic() + STOP_WAIT  # for the shell to print its end marker
            left = deadline - time.monotonic()
            if left <= 0:
                self._timed_out(token, timeout, stopping)
            if not self._receive(out, err, min(left, POLL)):
                raise HostFailed(self._died(err.kept()))
        if stopping:
            self._finish()
            raise HostFailed(f"interrupted: the running step was stopped on the host (exit {out.status})")
        return Result(text(out.body().removeprefix(b"\n")), text(err.body()), out.status)

    def _timed_out(self, token: str, timeout: float, stopping: bool) -> typing.NoReturn:
        if not stopping:
            self._end_step(token)  # closing the shell alone would leave them running, holding on
        self.close()
        if stopping:
            raise HostFailed("interrupted: the running step's shell did not return; the session was closed")
        raise HostFailed(f"command timed out after {timeout:g}s; its processes were ended and the session closed")

    def _died(self, err: bytes) -> str:
        detail = last_lines(text(err), 1) or ["connection closed"]
        if "a password is required" in detail[0]:
            return (f"{detail[0]}: sudo needs a password for {self.user} here; "
                    "give it with --ask-become-pass or --become-password-file")
        return f"the remote shell ended unexpectedly: {detail[0]}"

    # what a kind of shell supplies
    @abc.abstractmethod
    def _send(self, data: bytes) -> None:
        """Write `data` to the shell's stdin."""

    @abc.abstractmethod
    def _receive(self, out: Stream, err: Stream, wait: float) -> bool:
        """Feed what arrived, or wait up to `wait` seconds for it; False when the shell is gone."""

    @abc.abstractmethod
    def _end_step(self, token: str) -> None:
        """End script `token`'s processes from outside the shell (the shell itself waits for them)."""

    @abc.abstractmethod
    def _finish(self) -> None:
        """End the shell and wait (a bounded time) until it has: its exit releases the host lock."""

    @abc.abstractmethod
    def _gone(self) -> bool:
        """Whether the shell has exited."""

    @abc.abstractmethod
    def _stderr_left(self) -> bytes:
        """What the shell wrote on stderr and was not read yet (why it ended)."""

    @abc.abstractmethod
    def close(self) -> None:
        """End the shell (and so release the host lock); a connection already gone is not an error."""


def text(data: bytes) -> str:
    """Bytes from the host as text (invalid UTF-8 replaced)."""
    return data.decode("utf-8", errors="replace")
