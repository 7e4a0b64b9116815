"""Ad-hoc commands: one command (or script) on many hosts in parallel, each result kept in bounded memory.

The command goes through the same connection as apply (strict host keys, bastions, become, the
per-command timeout) but takes no host lock and plans nothing: it is one round trip on each host.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from configurator.connections.base import Connection
from configurator.connections.streams import Keep
from configurator.engine import executor
from configurator.engine.actions import quote
from configurator.errors import ConfigureError, InputError, Unreachable
from configurator.model.inventory import Host

MAX_SCRIPT = 1024 * 1024  # bytes of a --script file: it travels inside the one round trip
# what is kept of each output stream: people read it, so far less than a probe's bound, and many hosts'
# outputs are held at once until they are grouped (1,000 hosts: 256 MiB at most per stream kind)
KEEP = Keep(whole=256 * 1024, head=64 * 1024, tail=192 * 1024)


class State(enum.Enum):
    """How a host's command ended."""

    OK = "ok"  # exit status 0
    FAILED = "failed"  # a non-zero exit status, or the command could not run to its end (timeout, Ctrl-C twice)
    UNREACHABLE = "unreachable"  # no connection (refused, timed out, host key unknown or changed)
    NOT_STARTED = "not started"  # Ctrl-C came before this host's turn


@dataclass(frozen=True)
class Command:
    """What runs on each host: an sh script, and how it is shown."""

    script: str
    label: str


@dataclass(frozen=True)
class Outcome:
    """One host's result."""

    host: str
    state: State
    status: int | None = None  # the command's exit status (None when it did not run to its end)
    stdout: str = ""
    stderr: str = ""
    error: str = ""  # why there is no exit status: the connection error, the timeout, the interruption
    seconds: float = 0.0


@dataclass(frozen=True)
class Options:
    """How to run: the run options apply uses (forks, host keys, sudo, Ctrl-C events), plus become and timeout."""

    run: executor.RunOptions
    become: bool = False  # --become: every host through sudo, whatever its inventory says
    timeout: float | None = None  # seconds for the command (default: each host's command_timeout)


def from_argv(argv: Sequence[str]) -> Command:
    """A command line, every word quoted (nothing the user typed is read by the shell a second time)."""
    if not argv:
        raise InputError("no command to run", hint="give one after `--`, or --script FILE")
    try:
        line = " ".join(quote(word) for word in argv)
    except ValueError as exc:
        raise InputError(f"the command cannot be sent: {exc}") from None
    return Command(line, line)


def from_script(text: bytes, name: str) -> Command:
    """A script file's content, given to `sh -s` on its stdin (printf is a shell builtin: no argv limit)."""
    if len(text) > MAX_SCRIPT:
        raise InputError(f"the script {name} has {len(text)} bytes; at most {MAX_SCRIPT} are sent")
    if b"\0" in text:
        raise InputError(f"the script {name} holds a NUL byte")
    body = text.decode("utf-8", errors="surrogateescape")
    return Command(f"printf '%s' {quote(body)} | sh -s", f"sh -s < {name}")


def run(hosts: Sequence[Host], command: Command, options: Options,
        done: Callable[[Outcome], None] = lambda o: None) -> list[Outcome]:
    """`command` on every host, at most --forks at once; the outcomes in the hosts' order."""
    def one(host: Host) -> Outcome:
        outcome = run_host(host, command, options)
        done(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, min(options.run.forks, len(hosts) or 1))) as pool:
        return list(pool.map(one, hosts))


def run_host(host: Host, command: Command, options: Options) -> Outcome:
    """`command` on one host; every failure is caught and reported on the outcome."""
    if options.run.stop.is_set():
        return Outcome(host.name, State.NOT_STARTED)
    if options.become:
        host = replace(host, ssh=replace(host.ssh, become=True))
    started = time.monotonic()
    session: Connection | None = None
    try:
        session = executor.connect(host, options.run.accept_new, options.run.sudo_password,
                                   options.run.abort, options.run.connection, options.run.wait)
        result = session.run(command.script, timeout=options.timeout, keep=KEEP)
        state = State.OK if result.status == 0 else State.FAILED
        return Outcome(host.name, state, result.status, result.stdout, result.stderr,
                       seconds=time.monotonic() - started)
    except Unreachable as exc:
        return Outcome(host.name, State.UNREACHABLE, error=str(exc), seconds=time.monotonic() - started)
    except ConfigureError as exc:
        return Outcome(host.name, State.FAILED, error=str(exc), seconds=time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001 - a bug or transport fault must fail this host only
        return Outcome(host.name, State.FAILED, error=f"{type(exc).__name__}: {exc}",
                       seconds=time.monotonic() - started)
    finally:
        if session is not None:
            session.close()


def redacted(outcome: Outcome, redact: Callable[[str], str]) -> Outcome:
    """The outcome with every known secret masked in what the host printed and in the error."""
    return replace(outcome, stdout=redact(outcome.stdout), stderr=redact(outcome.stderr), error=redact(outcome.error))


def interrupted(options: Options) -> bool:
    """Whether Ctrl-C was pressed during the run."""
    return options.run.stop.is_set() or options.run.abort.is_set()

