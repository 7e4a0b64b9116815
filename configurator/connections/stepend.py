"""Ending what a script started on a host, found by the mark in its processes' environment.

A process group or session would not do: a command's `setsid` child leaves both, but it keeps
the environment it was started with (unless it clears it on purpose, as `env -i` does).
"""

from __future__ import annotations

import contextlib

import paramiko

from configurator.engine.actions import quote

STEP_MARK = "CFG_STEP"  # in the environment of every process a script starts
TIMED_OUT = (124, 137)  # timeout(1)'s statuses: the command was ended, its detached children perhaps not
STOP_WAIT = 10.0  # seconds to end a script's processes, or to see its shell return


def mark(token: str) -> str:
    """sh (for the script's subshell) that marks every process it starts as script `token`'s."""
    return f"{STEP_MARK}={token}; export {STEP_MARK}"


def end_script(token: str) -> str:
    """sh that ends every process marked as script `token`'s: TERM, then KILL what is left."""
    find = f"grep -lsxzF {STEP_MARK}={token} /proc/[0-9]*/environ"
    return (f'for __s in TERM KILL KILL; do __p=$({find}); [ -n "$__p" ] || break; '
            'for __f in $__p; do __f=${__f#/proc/}; kill -$__s ${__f%/environ} 2>/dev/null; done; sleep 0.5; done')


def on_timeout(token: str) -> str:
    """sh, run after the script, that ends its leftovers when a command of it timed out."""
    return f"case $__rc in {'|'.join(map(str, TIMED_OUT))}) {end_script(token)};; esac"


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
