"""The closed set of things the transport runs on a host, and the one quoting function."""

from __future__ import annotations

import base64
import re
import shlex
from dataclasses import dataclass

from configurator.engine import hostpaths

_REFUSED = "'validation refused the new content; the file was left unchanged'"
REFUSED = 65  # the exit status of a write its validator refused (EX_DATAERR): the live file is untouched
_SAFE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+\Z")


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
    """Run a command (argv, never a shell string); optional bytes on its stdin.

    `at` names the path the command changes: it then runs as the user who controls the directory
    above that path (root only where no other user can swap a name there; see hostpaths).
    """

    argv: tuple[str, ...]
    stdin: bytes | None = None
    timeout: int = 600
    env: tuple[tuple[str, str], ...] = ()
    at: str | None = None

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
    acting = "$__cfg_as " if action.at is not None else ""
    cmd = f"timeout -k 5 {int(action.timeout)} {acting}{prefix}{command_line(action.argv)}"
    if action.stdin is None:
        return _guarded(action.at, f"{cmd} </dev/null")
    redirect, body = _heredoc(action.stdin, token)
    return _guarded(action.at, f"base64 -d {redirect} | {cmd}", body)


def _guarded(at: str | None, command: str, body: str = "") -> str:
    """`command` run as the actor of `at` (see hostpaths), or as it is when it changes no path."""
    if at is None:
        return f"{command}\n{body}"
    return hostpaths.acting(quote(at), command) + body


def _temp_name(path: str) -> str:
    """A mktemp template beside `path` that stays within a 255-byte name, whatever the name's length."""
    name = path.rsplit("/", 1)[-1]
    while len(name.encode("utf-8", "surrogateescape")) > 48:
        name = name[:-1]
    return f".{name}.cfg-XXXXXXXXXX"


def _write(action: Upload, fill: str) -> str:
    """The sh, run as the actor, that fills a fresh temp file from stdin, sets owner and mode,
    validates it and renames it over the target."""
    directory = quote(action.path.rsplit("/", 1)[0] or "/")
    lines = [
        f"t=$(mktemp -p {directory} {quote(_temp_name(action.path))}) || exit 1",
        "trap 'rm -f \"$t\"' EXIT",
        f"{fill} > \"$t\" || exit 1",
        f"{_chown(action)}chmod {quote(action.mode)} \"$t\" || exit 1",
    ]
    if action.validate:
        check = " ".join(_with_temp(arg) for arg in action.validate)
        lines.append(f"timeout -k 5 300 {check} </dev/null 1>&2 || {{ echo {_REFUSED} >&2; exit {REFUSED}; }}")
    lines.append(f"mv -fT \"$t\" {quote(action.path)} && trap - EXIT")
    return "\n".join(lines)


def _chown(action: Upload) -> str:
    """The chown of the temp file, or nothing when neither owner nor group is set (the creator keeps it)."""
    if not action.owner and not action.group:
        return ""
    return f"chown {quote(action.owner)}:{quote(action.group)} \"$t\" && "


def upload_snippet(action: Upload, token: str) -> str:
    """Atomic write as the path's actor: mktemp beside the target (0600), content from stdin,
    chown/chmod, validate, rename."""
    if action.source is not None and action.staged is None:
        raise ValueError(f"{action.path}: a streamed upload must be staged on the host first")
    if action.staged is not None:
        staged = quote(action.staged)
        # open the staged copy, then remove it: it is gone whatever happens next
        head = f"exec 3< {staged} && rm -f -- {staged} || exit 1\n"
        return head + _guarded(action.path, f"$__cfg_as sh -c {quote(_write(action, 'cat'))} <&3")
    redirect, body = _heredoc(action.content, token)
    return _guarded(action.path, f"$__cfg_as sh -c {quote(_write(action, 'base64 -d'))} {redirect}", body)


def _with_temp(arg: str) -> str:
    """Quote one validator argument, putting the temp file path where it says %s."""
    if "%s" not in arg:
        return quote(arg)
    return '"$t"'.join(quote(piece) if piece else "" for piece in arg.split("%s"))


def snippet(action: Action, token: str) -> str:
    """The sh text for any action."""
    return run_snippet(action, token) if isinstance(action, Run) else upload_snippet(action, token)


def changed_nothing(actions: list[Action], status: int) -> bool:
    """Whether a step that failed with `status` left the host as it was: its first action is a write
    that its validator refused."""
    first = actions[0] if actions else None
    return status == REFUSED and isinstance(first, Upload) and bool(first.validate)
