"""The closed set of things the transport runs on a host, and the one quoting function."""

from __future__ import annotations

import base64
import re
import shlex
from dataclasses import dataclass

_REFUSED = "'validation refused the new content; the file was left unchanged'"
_SAFE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")


def quote(arg: str) -> str:
    """Quote one argument for POSIX sh; every user value passes through here."""
    if "\0" in arg:
        raise ValueError("argument contains a NUL byte")
    return arg if _SAFE.match(arg) else shlex.quote(arg)


def command_line(argv: tuple[str, ...] | list[str]) -> str:
    """An argv list as one safely quoted sh command."""
    return " ".join(quote(a) for a in argv)


@dataclass(frozen=True)
class Run:
    """Run a command (argv, never a shell string); optional bytes on its stdin."""

    argv: tuple[str, ...]
    stdin: bytes | None = None
    timeout: int = 600
    env: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        return command_line(self.argv)


@dataclass(frozen=True)
class Upload:
    """Write bytes to a file atomically: temp file beside it, mode/owner, validate, rename."""

    path: str
    content: bytes
    mode: str = "0644"
    owner: str = "root"
    group: str = "root"
    validate: tuple[str, ...] = ()  # argv; "%s" is replaced by the temp file path
    source: str | None = None  # a local file streamed to the host (staged) instead of `content`
    staged: str | None = None  # where the transport put `source` on the host

    def describe(self) -> str:
        size = f"from {self.source}" if self.source else f"{len(self.content)} bytes"
        return f"upload {self.path} ({size}, mode {self.mode})"


Action = Run | Upload


def _heredoc(data: bytes, token: str) -> tuple[str, str]:
    """Bytes as base64 heredoc parts: the redirection and the body (never on a command line)."""
    encoded = base64.encodebytes(data).decode("ascii")
    return f"<<'CFG_DATA_{token}'", f"{encoded}CFG_DATA_{token}\n"


def run_snippet(action: Run, token: str) -> str:
    """The sh text that runs `action`, with a timeout that also ends the remote process."""
    env = " ".join(f"{k}={quote(v)}" for k, v in action.env)
    prefix = f"env {env} " if env else ""
    cmd = f"timeout -k 5 {int(action.timeout)} {prefix}{command_line(action.argv)}"
    if action.stdin is None:
        return f"{cmd} </dev/null\n"
    redirect, body = _heredoc(action.stdin, token)
    return f"base64 -d {redirect} | {cmd}\n{body}"


def _fill(action: Upload, token: str) -> str:
    """sh that writes the new content into "$t" and fails on any write error (a full disk)."""
    if action.source is not None and action.staged is None:
        raise ValueError(f"{action.path}: a streamed upload must be staged on the host first")
    if action.staged is not None:
        staged = quote(action.staged)
        return f"cat -- {staged} > \"$t\" || {{ rm -f -- {staged}; exit 1; }}\nrm -f -- {staged}"
    redirect, body = _heredoc(action.content, token)
    return "base64 -d > \"$t\" " + redirect + " || exit 1\n" + body.rstrip("\n")


def upload_snippet(action: Upload, token: str) -> str:
    """Atomic write: mktemp in the target dir (0600), chown/chmod, validate, rename."""
    path = quote(action.path)
    directory = quote(action.path.rsplit("/", 1)[0] or "/")
    name = quote("." + action.path.rsplit("/", 1)[-1] + ".cfg-XXXXXX")
    lines = [
        f"t=$(mktemp -p {directory} {name}) || exit 1",
        "trap 'rm -f \"$t\"' EXIT",
        _fill(action, token),
        f"chown {quote(action.owner)}:{quote(action.group)} \"$t\" && chmod {quote(action.mode)} \"$t\" || exit 1",
    ]
    if action.validate:
        check = " ".join(_with_temp(arg) for arg in action.validate)
        lines.append(f"timeout -k 5 300 {check} </dev/null 1>&2 || {{ echo {_REFUSED} >&2; exit 1; }}")
    lines.append(f"mv -f \"$t\" {path} && trap - EXIT")
    return "\n".join(lines) + "\n"


def _with_temp(arg: str) -> str:
    """Quote one validator argument, putting the temp file path where it says %s."""
    if "%s" not in arg:
        return quote(arg)
    return '"$t"'.join(quote(piece) if piece else "" for piece in arg.split("%s"))


def snippet(action: Action, token: str) -> str:
    """The sh text for any action."""
    return run_snippet(action, token) if isinstance(action, Run) else upload_snippet(action, token)
